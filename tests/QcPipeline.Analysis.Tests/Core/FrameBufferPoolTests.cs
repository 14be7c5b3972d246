using QcPipeline.Analysis;

namespace QcPipeline.Analysis.Tests.Core;

public sealed class FrameBufferPoolTests
{
    [Fact]
    public void Arrays_come_at_their_exact_length_and_a_returned_one_is_handed_out_again()
    {
        var pool = new FrameBufferPool(16L * 1024 * 1024);
        var a = pool.Rent(512 * 512);
        Assert.Equal(512 * 512, a.Length);
        pool.Return(a);
        Assert.Equal(512L * 512 * sizeof(float), pool.RetainedBytes);
        Assert.Same(a, pool.Rent(512 * 512));
        Assert.Equal(0, pool.RetainedBytes);
        // Another length never gets that array.
        pool.Return(a);
        var b = pool.Rent(512 * 511);
        Assert.NotSame(a, b);
        Assert.Equal(512 * 511, b.Length);
    }

    [Fact]
    public void It_keeps_no_more_than_its_limit_and_zero_keeps_nothing()
    {
        var pool = new FrameBufferPool(3 * 1000 * sizeof(float));
        var arrays = Enumerable.Range(0, 5).Select(_ => pool.Rent(1000)).ToArray();
        foreach (var a in arrays) pool.Return(a);
        Assert.Equal(3 * 1000 * sizeof(float), pool.RetainedBytes);
        var again = Enumerable.Range(0, 5).Select(_ => pool.Rent(1000)).ToArray();
        Assert.Equal(3, again.Count(x => arrays.Contains(x)));

        var none = new FrameBufferPool(0);
        var c = none.Rent(10);
        none.Return(c);
        Assert.Equal(0, none.RetainedBytes);
        Assert.NotSame(c, none.Rent(10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FrameBufferPool(-1));
    }

    [Fact]
    public void Concurrent_renters_never_share_an_array_and_the_limit_holds()
    {
        // Room for 2 arrays, with up to 4 in use at once: returns beyond the limit happen, and must leave it intact.
        var pool = new FrameBufferPool(2 * 4096 * sizeof(float));
        var owners = new System.Collections.Concurrent.ConcurrentDictionary<float[], int>(ReferenceEqualityComparer.Instance);
        Parallel.For(0, 4000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var a = pool.Rent(4096);
            Assert.True(owners.TryAdd(a, i), "an array was handed to two renters at once");
            a[0] = i;
            Thread.SpinWait(50);
            Assert.Equal(i, a[0]);
            Assert.True(owners.TryRemove(a, out _));
            pool.Return(a);
            Assert.InRange(pool.RetainedBytes, 0, pool.MaxRetainedBytes);
        });
    }
}
