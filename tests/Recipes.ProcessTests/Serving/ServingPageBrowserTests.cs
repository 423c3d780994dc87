using System.Net;
using PuppeteerSharp;
using Recipes.Serving;
using static Recipes.Tests.Serving.ServingTestKit;

namespace Recipes.Tests.Serving;

/// <summary>A test that needs Debian's chromium: reported as skipped, with the way to install it, where it is missing.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(ChromiumPath)) Skip = $"{ChromiumPath} not found: install Debian's chromium (apt-get install chromium) to run the browser test of the serving page";
    }
}

/// <summary>
/// The web page in a real browser: headless chromium, driven over the DevTools protocol by PuppeteerSharp (pointed at
/// the system's chromium; it never downloads one). Uploading an image must show the class the service answers.
/// </summary>
public sealed class ServingPageBrowserTests : IDisposable
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), $"serving-page-{Guid.NewGuid():N}");

    public ServingPageBrowserTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // chromium may still be writing its profile as it exits; the folder is in /tmp
        }
    }

    [ChromiumFact]
    public async Task Uploading_an_image_on_the_page_shows_the_top_class_the_service_answers()
    {
        var model = new TorchTestModel("page-digits");
        await using var server = await InferenceServer.StartAsync(new ServeSettings { Listen = new IPEndPoint(IPAddress.Loopback, 0) }, () => Classifier(model));
        await server.Loaded.WaitAsync(TimeSpan.FromMinutes(1));
        using var digit = Digit(9, seed: 2);
        byte[] png = Png(digit);
        string file = Path.Combine(_folder, "digit.png");
        File.WriteAllBytes(file, png);
        using var client = Client(server.Address);
        var (status, answer) = await PostAsync(client, "/predict", ImageContent(png, "image/png"));
        Assert.Equal(HttpStatusCode.OK, status);
        string expected = answer.GetProperty("classes")[0].GetProperty("label").GetString()!;

        await using var browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = ChromiumFactAttribute.ChromiumPath,
            Headless = true,
            UserDataDir = Path.Combine(_folder, "profile"),
            Timeout = 60_000,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        await using var page = await browser.NewPageAsync();
        var consoleErrors = new List<string>();
        page.Console += (_, message) => { if (message.Message.Type == ConsoleType.Error) consoleErrors.Add(message.Message.Text); };
        await page.GoToAsync(server.Address.ToString(), new NavigationOptions { Timeout = 60_000 });
        var wait = new WaitForFunctionOptions { Timeout = 60_000 };
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent === 'Ready.'", wait);
        Assert.Equal("page-digits", await page.EvaluateExpressionAsync<string>("document.getElementById('title').textContent"));

        var input = await page.QuerySelectorAsync("#file");
        await input.UploadFileAsync(file);
        await page.WaitForFunctionAsync("() => !document.getElementById('top').hidden || document.getElementById('status').classList.contains('error')", wait);
        Assert.Equal("Done.", await page.EvaluateExpressionAsync<string>("document.getElementById('status').textContent"));
        Assert.Equal(expected, await page.EvaluateExpressionAsync<string>("document.getElementById('top-class').textContent"));
        Assert.Equal(5, await page.EvaluateExpressionAsync<int>("document.querySelectorAll('#result .bar').length"));
        Assert.Empty(consoleErrors);
    }
}
