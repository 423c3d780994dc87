using System.Net;
using Recipes.Serving;
using static Recipes.Tests.Serving.ServingTestKit;

namespace Recipes.Tests.Serving;

/// <summary>Readiness, the API key, a full queue and draining at stop, each on a service of its own.</summary>
public sealed class InferenceServerSettingsTests
{
    static ServeSettings Loopback(string? apiKey = null) => new() { Listen = new IPEndPoint(IPAddress.Loopback, 0), ApiKey = apiKey };

    [Fact]
    public async Task The_service_is_live_at_once_and_ready_only_after_the_model_loaded_and_warmed_up()
    {
        using var release = new ManualResetEventSlim();
        var model = new TorchTestModel("slow-loader");
        await using var server = await InferenceServer.StartAsync(Loopback(), () =>
        {
            release.Wait(TimeSpan.FromMinutes(1)); // a model that takes its time to load
            return Classifier(model);
        });
        using var client = Client(server.Address);

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, "/v2/health/live")).Status);
        var notReady = await GetAsync(client, "/v2/health/ready");
        Assert.Equal(HttpStatusCode.BadRequest, notReady.Status); // the protocol: a 4xx means not ready
        Assert.False(notReady.Body.GetProperty("ready").GetBoolean());
        var modelNotReady = await GetAsync(client, "/v2/models/slow-loader/ready");
        Assert.Equal(HttpStatusCode.BadRequest, modelNotReady.Status);
        Assert.False(modelNotReady.Body.GetProperty("ready").GetBoolean());
        using var digit = Digit(2);
        AssertClientError(HttpStatusCode.ServiceUnavailable, await PostAsync(client, "/predict", ImageContent(Png(digit), "image/png")), "loading");
        Assert.Equal(0, model.Calls);

        release.Set();
        await server.Loaded.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(1, model.Calls); // the warm-up request ran before the service said ready
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, "/v2/health/ready")).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, "/v2/models/slow-loader/ready")).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, "/predict", ImageContent(Png(digit), "image/png"))).Status);
    }

    [Fact]
    public async Task A_model_that_fails_to_load_faults_Loaded_with_its_error()
    {
        await using var server = await InferenceServer.StartAsync(Loopback(), () => throw new global::Recipes.Runtime.Recipes.RecipeException("model.bin: no saved model"));
        var error = await Assert.ThrowsAsync<global::Recipes.Runtime.Recipes.RecipeException>(() => server.Loaded.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("no saved model", error.Message);
    }

    [Fact]
    public async Task With_an_API_key_only_the_probes_and_the_static_page_are_open()
    {
        const string key = "s3cret-key-for-tests";
        var model = new TorchTestModel("guarded");
        await using var server = await InferenceServer.StartAsync(Loopback(key), () => Classifier(model));
        await server.Loaded.WaitAsync(TimeSpan.FromMinutes(1));
        using var client = Client(server.Address);
        using var digit = Digit(4);
        byte[] png = Png(digit);

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, "/v2/health/live")).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(client, "/v2/health/ready")).Status);
        using (var page = await client.GetAsync("/")) Assert.Equal(HttpStatusCode.OK, page.StatusCode);

        foreach (var (header, value) in new (string?, string?)[] { (null, null), ("X-API-Key", "wrong-key-for-tests"), ("Authorization", "Bearer wrong"), ("Authorization", key) })
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/predict") { Content = ImageContent(png, "image/png") };
            if (header is not null) request.Headers.TryAddWithoutValidation(header, value);
            AssertClientError(HttpStatusCode.Unauthorized, await SendAsync(client, request), "API key");
        }
        AssertClientError(HttpStatusCode.Unauthorized, await GetAsync(client, "/v2/models/guarded"), "API key");
        AssertClientError(HttpStatusCode.Unauthorized, await GetAsync(client, "/ui/config"), "API key");
        using (var metrics = await client.GetAsync("/metrics")) Assert.Equal(HttpStatusCode.Unauthorized, metrics.StatusCode);

        var bearer = new HttpRequestMessage(HttpMethod.Post, "/predict") { Content = ImageContent(png, "image/png") };
        bearer.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(client, bearer)).Status);
        var apiKey = new HttpRequestMessage(HttpMethod.Get, "/v2/models/guarded");
        apiKey.Headers.Add("X-API-Key", key);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(client, apiKey)).Status);
    }

    [Fact]
    public async Task A_full_queue_answers_503_with_retry_after_and_the_service_recovers()
    {
        var model = new TorchTestModel("busy");
        await using var server = await InferenceServer.StartAsync(Loopback(), () => Classifier(model));
        await server.Loaded.WaitAsync(TimeSpan.FromMinutes(1));
        using var client = Client(server.Address);
        using var digit = Digit(6);
        byte[] png = Png(digit);

        model.Busy = true;
        using (var response = await client.PostAsync("/predict", ImageContent(png, "image/png")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        }
        model.Busy = false;
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, "/predict", ImageContent(png, "image/png"))).Status);
    }

    [Fact]
    public async Task Stopping_answers_the_requests_in_flight_first_then_disposes_the_model()
    {
        var model = new TorchTestModel("draining");
        var server = await InferenceServer.StartAsync(Loopback(), () => Classifier(model));
        await server.Loaded.WaitAsync(TimeSpan.FromMinutes(1));
        using var client = Client(server.Address);
        using var digit = Digit(8);

        model.Hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inFlight = client.PostAsync("/predict", ImageContent(Png(digit), "image/png"));
        for (int i = 0; i < 600 && model.QueueLength == 0; i++) await Task.Delay(50); // until the request reached the model
        Assert.Equal(1, model.QueueLength);
        var stopping = server.StopAsync();
        await Task.Delay(200);
        Assert.False(stopping.IsCompleted, "the stop did not wait for the request in flight");
        model.Hold.SetResult();
        using var answer = await inFlight.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        await stopping.WaitAsync(TimeSpan.FromMinutes(1));
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("/v2/health/live"));
    }
}
