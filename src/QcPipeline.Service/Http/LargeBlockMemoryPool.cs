using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace QcPipeline.Service.Http;

/// <summary>Kestrel's socket buffers in 64 KiB pinned blocks instead of its default 4 KiB: a STOW-RS body is hundreds of
/// megabytes, and with 4 KiB blocks every recv(2) returns at most 4 KiB, so a 0.5 MB instance costs ~130 system calls
/// (measured here: the service spent ~4.6 ms of CPU per 526 kB instance, half of it in the kernel). Blocks are reused;
/// at most <see cref="MaxRetained"/> stay cached, so memory stays bounded by the connections in flight.</summary>
internal sealed class LargeBlockMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 64 * 1024;
    private const int MaxRetained = 1024; // 64 MiB of idle blocks at most
    private readonly ConcurrentBag<byte[]> _free = [];
    private int _retained;

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize) throw new ArgumentOutOfRangeException(nameof(minBufferSize), $"at most {BlockSize} bytes");
        if (_free.TryTake(out var block)) Interlocked.Decrement(ref _retained);
        else block = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);
        return new Owner(this, block);
    }

    private void Return(byte[] block)
    {
        if (Interlocked.Increment(ref _retained) <= MaxRetained) _free.Add(block);
        else Interlocked.Decrement(ref _retained);
    }

    protected override void Dispose(bool disposing) => _free.Clear();

    private sealed class Owner(LargeBlockMemoryPool pool, byte[] block) : IMemoryOwner<byte>
    {
        private byte[]? _block = block;

        public Memory<byte> Memory => _block ?? throw new ObjectDisposedException(nameof(Owner));

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _block, null) is { } b) pool.Return(b);
        }
    }
}

/// <summary>Gives Kestrel the <see cref="LargeBlockMemoryPool"/> (one per listener, as Kestrel asks).</summary>
internal sealed class LargeBlockMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new LargeBlockMemoryPool();
}
