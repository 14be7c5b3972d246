using System.Text.Json;

namespace QcPipeline.Service.Bus;

/// <summary>The messages that go through the outbox: their type names and JSON form.</summary>
public static class OutboxMessages
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.General);

    public static (string Type, string Payload) Serialize(InstanceStored m) => (nameof(InstanceStored), JsonSerializer.Serialize(m, Json));

    public static (string Type, string Payload) Serialize(AnalyzeSeries m) => (nameof(AnalyzeSeries), JsonSerializer.Serialize(m, Json));

    /// <summary>The message of an outbox row; throws <see cref="NotSupportedException"/> for an unknown type.</summary>
    public static object Deserialize(string type, string payload) => type switch
    {
        nameof(InstanceStored) => JsonSerializer.Deserialize<InstanceStored>(payload, Json) ?? throw new JsonException("null payload"),
        nameof(AnalyzeSeries) => JsonSerializer.Deserialize<AnalyzeSeries>(payload, Json) ?? throw new JsonException("null payload"),
        _ => throw new NotSupportedException($"outbox message type '{type}' is not known"),
    };

    /// <summary>A time as the outbox and series columns hold it: UTC ticks on SQLite (see SqliteIndexDbContext), a UTC
    /// timestamptz on PostgreSQL.</summary>
    public static object DbTime(DateTimeOffset t, bool sqlite) => sqlite ? t.UtcTicks : t.ToUniversalTime();
}
