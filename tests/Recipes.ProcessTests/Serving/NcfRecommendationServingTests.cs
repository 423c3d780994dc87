using System.Net;
using System.Text.Json;
using Recipes.NcfRecommendation;
using Recipes.Runtime.Models;
using static Recipes.Tests.Serving.VisionServingKit;

namespace Recipes.Tests.Serving;

/// <summary>ncf-recommendation's tiniest explicit run on generated ml-100k-like ratings, trained once.</summary>
public sealed class TrainedNcfRecommendation() : TrainedRecipeOutput("ncf-recommendation",
    ["--offline", "--dataset", "ml-100k", "--epochs", "1", "--max-samples", "20000", "--master", "local[1]"], Path.Combine("explicit", "model.bin"), TimeSpan.FromMinutes(8));

/// <summary>
/// <c>ncf-recommendation serve</c>: the top movies for a user exclude every movie the user rated and come best first,
/// with titles; the scores are the model's own (the recipe's ranking of the same user agrees within 1e-4: the same
/// float32 network in two processes); an unknown user is a 404 with one line of JSON; the page's picker lists known users.
/// </summary>
public sealed class NcfRecommendationServingTests(TrainedNcfRecommendation trained) : IClassFixture<TrainedNcfRecommendation>
{
    [Fact]
    public async Task Recommends_unrated_movies_best_first_and_refuses_an_unknown_user()
    {
        var log = new StringWriter();
        // --model left at <output>/model.bin: the loader takes the explicit model the recipe wrote below it.
        await using var server = await StartAsync(Options("ncf-recommendation", Path.Combine(trained.Output, "model.bin"), backend: null), NcfRecommendationServing.Load, log);
        using var client = Client(server.Address);
        using (var saved = SavedModel<RecommenderInfo>.Load(trained.SavedPath, description => new NeuralCF(description.Model)))
        {
            var (network, info) = saved;
            var catalogue = RecommenderCatalogue.Load(trained.SavedPath, info);
            int user = 0;
            long userId = info.UserIds[user];

            var (status, answer) = await PostAsync(client, $"/predict?user={userId}&top=7");
            Assert.True(status == HttpStatusCode.OK, answer.ToString());
            Assert.Equal(userId, answer.GetProperty("user").GetInt64());
            var items = answer.GetProperty("items").EnumerateArray().ToList();
            Assert.Equal(7, items.Count);
            var rated = catalogue.Rated[user].Select(item => (long)info.ItemIds[item]).ToHashSet();
            Assert.NotEmpty(rated);
            Assert.All(items, item => Assert.DoesNotContain(item.GetProperty("item").GetInt64(), rated));
            var scores = items.Select(item => item.GetProperty("score").GetDouble()).ToList();
            Assert.Equal(scores.OrderDescending(), scores);
            Assert.All(items, item => Assert.False(string.IsNullOrEmpty(item.GetProperty("title").GetString())));

            // The recipe's own ranking of the same user, over the same unrated movies, in this process.
            var scale = info.Scale!;
            var expected = Recommendations.TopItemsForUser(network, scale.ExpectedStars, user, info.ItemIds.Length, 7,
                item => Array.BinarySearch(catalogue.Rated[user], item) >= 0);
            Assert.Equal(expected.Select(e => e.Score), scores, (a, b) => Math.Abs(a - b) < 1e-4);
        }

        foreach (string query in new[] { "?user=999999", "?user=-5" })
        {
            var (unknown, error) = await PostAsync(client, "/predict" + query);
            Assert.Equal(HttpStatusCode.NotFound, unknown);
            Assert.Contains("unknown user", error.GetProperty("error").GetString());
        }
        var (notANumber, notANumberError) = await PostAsync(client, "/predict?user=abc");
        Assert.Equal(HttpStatusCode.BadRequest, notANumber);
        Assert.Contains("not an integer", notANumberError.GetProperty("error").GetString());

        var (metaStatus, metadata) = await GetJsonAsync(client, "/v2/models/ncf-recommendation");
        Assert.Equal(HttpStatusCode.OK, metaStatus);
        Assert.Equal(new long[] { -1, 2 }, Tensors(metadata, "inputs")["pairs"]);
        Assert.Equal(new long[] { -1 }, Tensors(metadata, "outputs")["scores"]);

        var (configStatus, config) = await GetJsonAsync(client, "/ui/config");
        Assert.Equal(HttpStatusCode.OK, configStatus);
        Assert.Equal("user", config.GetProperty("input").GetString());
        var users = config.GetProperty("page").GetProperty("users").EnumerateArray().Select(u => u.GetString()!).ToList();
        Assert.Equal(20, users.Count);
        foreach (string picked in users.Take(3))
        {
            var (pickedStatus, _) = await PostAsync(client, $"/predict?user={picked}&top=1");
            Assert.Equal(HttpStatusCode.OK, pickedStatus);
        }
    }

    [Fact]
    public async Task The_v2_infer_endpoint_scores_pairs_as_the_model_does()
    {
        await using var server = await StartAsync(Options("ncf-recommendation", trained.SavedPath, backend: null), NcfRecommendationServing.Load, TextWriter.Null);
        using var client = Client(server.Address);
        string body = """{"inputs": [{"name": "pairs", "datatype": "INT64", "shape": [2, 2], "data": [0, 0, 1, 2]}]}""";
        var (status, answer) = await PostAsync(client, "/v2/models/ncf-recommendation/infer", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.True(status == HttpStatusCode.OK, answer.ToString());
        var output = answer.GetProperty("outputs")[0];
        Assert.Equal("scores", output.GetProperty("name").GetString());
        var scores = output.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToList();
        Assert.Equal(2, scores.Count);
        Assert.All(scores, score => Assert.InRange(score, 1, 5)); // expected stars on the 1-5 scale
    }

    [ChromiumFact]
    public async Task The_page_offers_known_users_and_shows_a_picked_users_recommendations()
    {
        await using var server = await StartAsync(Options("ncf-recommendation", trained.SavedPath, backend: null), NcfRecommendationServing.Load, TextWriter.Null);
        await using var browser = await ServingPageInBrowser.OpenAsync(server.Address);
        var page = browser.Page;
        Assert.False(await page.EvaluateExpressionAsync<bool>("document.getElementById('user-input').hidden"), "the user picker is shown for a user model");
        string[] offered = await page.EvaluateExpressionAsync<string[]>("[...document.querySelectorAll('#users option')].map(o => o.value)");
        Assert.Equal(20, offered.Length);

        await page.TypeAsync("#user", offered[1]);
        await page.ClickAsync("#user-form button, #user-form [type=submit]");
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent === 'Done.' || document.getElementById('status').classList.contains('error')",
            new PuppeteerSharp.WaitForFunctionOptions { Timeout = 120_000 });
        Assert.Equal("Done.", await page.EvaluateExpressionAsync<string>("document.getElementById('status').textContent"));
        // A table of the default 10 movies under its heading row: item, title, score.
        string[][] rows = await page.EvaluateExpressionAsync<string[][]>("[...document.querySelectorAll('#result tr')].map(r => [...r.cells].map(c => c.textContent))");
        Assert.Equal(11, rows.Length);
        Assert.Equal(["item", "title", "score"], rows[0]);
        Assert.All(rows.Skip(1), row => Assert.False(string.IsNullOrEmpty(row[1])));
        await browser.ScreenshotAsync(ScreenshotPath("ncf-recommendation.png"));
    }

    static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(HttpClient client, string path, HttpContent? content = null)
    {
        using var response = await client.PostAsync(path, content);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }
}
