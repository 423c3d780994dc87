using Prometheus;

namespace Recipes.Serving;

/// <summary>
/// The service's Prometheus metrics, in a registry of their own (several services in one test process do not
/// mix their counts): requests and their latency per model, endpoint and status; the model's batch sizes and
/// batch times; the queue length and the requests in flight, read when Prometheus scrapes; and the process's .NET figures (memory, GC, CPU).
/// </summary>
public sealed class ServingMetrics
{
    readonly Counter _requests;
    readonly Histogram _latency;
    readonly Histogram _batchRows;
    readonly Histogram _batchSeconds;
    readonly Gauge _queueLength;
    readonly Gauge _inFlight;

    public ServingMetrics()
    {
        Registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);
        var factory = Metrics.WithCustomRegistry(Registry);
        string[] requestLabels = ["model", "endpoint", "status"];
        _requests = factory.CreateCounter("recipes_serving_requests_total", "HTTP requests answered, by model, endpoint (route pattern) and status code", requestLabels);
        _latency = factory.CreateHistogram("recipes_serving_request_duration_seconds", "Time from request to answer, by model, endpoint and status code",
            requestLabels, new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16) }); // 0.5 ms to 16 s
        _batchRows = factory.CreateHistogram("recipes_serving_batch_size", "Rows in each forward pass the model ran (dynamic batching joins requests)",
            ["model"], new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 10) }); // 1 to 512
        _batchSeconds = factory.CreateHistogram("recipes_serving_batch_duration_seconds", "Time of each forward pass",
            ["model"], new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0005, 2, 14) });
        _queueLength = factory.CreateGauge("recipes_serving_queue_length", "Requests waiting for a model copy", ["model"]);
        _inFlight = factory.CreateGauge("recipes_serving_requests_in_flight", "HTTP requests being answered (a scrape counts itself)");
    }

    public CollectorRegistry Registry { get; }

    public void ObserveRequest(string model, string endpoint, int status, TimeSpan elapsed)
    {
        string code = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _requests.WithLabels(model, endpoint, code).Inc();
        _latency.WithLabels(model, endpoint, code).Observe(elapsed.TotalSeconds);
    }

    public void ObserveBatch(string model, int rows, TimeSpan elapsed)
    {
        _batchRows.WithLabels(model).Observe(rows);
        _batchSeconds.WithLabels(model).Observe(elapsed.TotalSeconds);
    }

    /// <summary>Reports the requests being answered at every scrape (a drain waits for them to reach 0).</summary>
    public void TrackRequestsInFlight(Func<int> inFlight) => Registry.AddBeforeCollectCallback(() => _inFlight.Set(inFlight()));

    /// <summary>Reports the model's queue length at every scrape.</summary>
    public void TrackQueue(string model, Func<int> queueLength) =>
        Registry.AddBeforeCollectCallback(() => _queueLength.WithLabels(model).Set(queueLength()));
}
