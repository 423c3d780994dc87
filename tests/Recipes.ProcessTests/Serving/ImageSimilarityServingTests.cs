using System.Net;
using Recipes.ImageSimilarity;
using Recipes.Tests.Models;
using static Recipes.Tests.Serving.VisionServingKit;

namespace Recipes.Tests.Serving;

/// <summary>image-similarity's tiniest run on the cats-dogs sample (24 photographs), trained once; its index is served.</summary>
public sealed class TrainedImageSimilarity() : TrainedRecipeOutput("image-similarity",
    [.. SamplePhotos.CatsDogsFolder is { } folder ? new[] { "--data", folder } : [], "--max-samples", "24", "--top", "3"], "index.bin", TimeSpan.FromMinutes(8))
{
    public bool HasPhotographs => SamplePhotos.CatsDogsFolder is not null;
}

/// <summary>
/// <c>image-similarity serve</c> on the index the recipe saved: an indexed photograph uploaded finds itself first
/// (cosine 1 within 1e-3: the upload goes through the same decode, resize, crop and features as indexing, but the
/// served path and the recipe's run are different processes and ONNX Runtime's threads may sum in another order),
/// the neighbours' pictures are served by id and only by id, and the model's metadata says what it takes.
/// </summary>
public sealed class ImageSimilarityServingTests(TrainedImageSimilarity trained) : IClassFixture<TrainedImageSimilarity>
{
    [Fact]
    public async Task An_indexed_photograph_finds_itself_first_and_its_neighbours_are_served_by_id()
    {
        Assert.True(trained.HasPhotographs, "the cats-dogs sample (../shared/data/cats-dogs) is needed: generated textures have no files to upload");
        var index = ImageFeatureIndex.Load(trained.SavedPath);
        int position = Enumerable.Range(0, index.Count).First(i => File.Exists(index.Images[i].Path));
        var log = new StringWriter();
        // --model left at the generic default: the loader finds index.bin beside it.
        await using var server = await StartAsync(Options("image-similarity", Path.Combine(trained.Output, "model.bin"), backend: null), ImageSimilarityServing.Load, log);
        using var client = Client(server.Address);

        var (status, answer) = await PredictAsync(client, index.Images[position].Path, "?top=3");
        Assert.True(status == HttpStatusCode.OK, answer.ToString());
        Assert.Equal("image-similarity", answer.GetProperty("model").GetString());
        var neighbours = answer.GetProperty("neighbours").EnumerateArray().ToList();
        Assert.Equal(3, neighbours.Count);
        Assert.Equal(position.ToString(System.Globalization.CultureInfo.InvariantCulture), neighbours[0].GetProperty("id").GetString());
        Assert.Equal(1.0, neighbours[0].GetProperty("similarity").GetDouble(), 1e-3);
        Assert.Equal(index.ClassNames[index.Images[position].Label], neighbours[0].GetProperty("label").GetString());
        var similarities = neighbours.Select(n => n.GetProperty("similarity").GetDouble()).ToList();
        Assert.Equal(similarities.OrderDescending(), similarities); // most similar first

        // The picture behind a neighbour's link is the indexed file, byte for byte.
        string url = neighbours[1].GetProperty("image_url").GetString()!;
        int other = int.Parse(neighbours[1].GetProperty("id").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        using (var response = await client.GetAsync(url))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("image/jpeg", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(await File.ReadAllBytesAsync(index.Images[other].Path), await response.Content.ReadAsByteArrayAsync());
        }
        // Ids only: a position past the index, a path, or anything but digits is not found.
        foreach (string id in new[] { index.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), "..%2F..%2Fetc%2Fpasswd", "-1", "0x1" })
        {
            var (missing, error) = await GetJsonAsync(client, $"/images/{id}");
            Assert.Equal(HttpStatusCode.NotFound, missing);
            Assert.False(string.IsNullOrEmpty(error.GetProperty("error").GetString()));
        }

        var (metaStatus, metadata) = await GetJsonAsync(client, "/v2/models/image-similarity");
        Assert.Equal(HttpStatusCode.OK, metaStatus);
        Assert.Equal(new long[] { -1, 3, 224, 224 }, Tensors(metadata, "inputs")["images"]);
        Assert.Equal(new long[] { -1, 512 }, Tensors(metadata, "outputs")["features"]);

        // ?top beyond the index is the client's mistake.
        var (tooMany, tooManyError) = await PredictAsync(client, index.Images[position].Path, $"?top={index.Count + 1}");
        Assert.Equal(HttpStatusCode.BadRequest, tooMany);
        Assert.Contains("top", tooManyError.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_missing_index_is_a_clear_error()
    {
        string missing = Path.Combine(trained.Folder, "nowhere", "index.bin");
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(Options("image-similarity", missing, backend: null), ImageSimilarityServing.Load, TextWriter.Null));
        Assert.Contains("no saved index", error.Message);
    }
}
