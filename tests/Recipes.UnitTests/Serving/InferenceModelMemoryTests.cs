using System.Diagnostics;
using System.Runtime.InteropServices;
using Recipes.Serving;
using Xunit.Abstractions;

namespace Recipes.Tests.Serving;

[Collection(ProcessWideState.Name)] // measures the process's resident memory
public class InferenceModelMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Memory_stays_flat_over_thousands_of_batched_requests()
    {
        // Two measures. Live libtorch tensors (TorchSharp's process-wide count) must be back where they were: a request
        // that leaked one tensor would leave 3000 behind. Resident memory, sampled every 500 requests after GC and
        // malloc_trim, must not climb: each request carries 48 KB in and makes ~120 KB of activations per row, so a
        // leak of one tensor or one pinned request per request would add 140-500 MB over the 3000 measured requests;
        // the bound of 64 MB is for what a healthy process still moves by (GC heap sizing, the allocator arenas of the
        // worker threads, memory other tests of this process free meanwhile).
        const int imageSize = 64, concurrency = 8;
        using var model = new InferenceModel(_ => TinyConvNet.Backend(imageSize), new InferenceOptions(2, MaxBatch: 8, MaxDelay: TimeSpan.FromMilliseconds(1)));
        var inputs = Enumerable.Range(0, concurrency).Select(caller => TinyConvNet.Images(caller, imageSize: imageSize)).ToArray();

        async Task Send(int requests)
        {
            var callers = Enumerable.Range(0, concurrency).Select(caller => Task.Run(async () =>
            {
                for (int i = caller; i < requests; i += concurrency)
                {
                    var result = await model.InferAsync([inputs[caller]]);
                    Assert.Equal([1L, 5], Assert.Single(result).Shape);
                }
            }));
            await Task.WhenAll(callers);
        }

        await Send(500);
        long tensorsBefore = TorchSharp.torch.Tensor.TotalCount;
        var residentMb = new List<double> { SettledResidentMegabytes() };
        var liveTensors = new List<long>();
        for (int round = 0; round < 6; round++)
        {
            await Send(500);
            // Counted before any collection: a tensor left to the finalizer counts as leaked here.
            liveTensors.Add(TorchSharp.torch.Tensor.TotalCount);
            residentMb.Add(SettledResidentMegabytes());
        }
        double growth = residentMb.Max() - residentMb[0];
        output.WriteLine($"live tensors {tensorsBefore}, then every 500 requests {string.Join(", ", liveTensors)}; " +
                         $"resident MB every 500 requests: {string.Join(", ", residentMb.Select(m => m.ToString("F0")))}; largest rise over the first sample {growth:F1} MB");
        Assert.All(liveTensors, count => Assert.True(count <= tensorsBefore, $"{count - tensorsBefore} more live tensors than before the requests"));
        Assert.True(growth < 64, $"resident memory rose by {growth:F1} MB over 3000 requests");
        Assert.Equal(0, model.QueueLength);
    }

    static double SettledResidentMegabytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        // Hand freed native memory back to the system, so what remains is what is still in use.
        if (OperatingSystem.IsLinux())
            try { MallocTrim(0); } catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64 / 1048576.0;
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int MallocTrim(nuint pad);
}
