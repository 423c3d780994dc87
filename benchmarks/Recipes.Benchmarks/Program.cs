// Benchmarks that print figures side by side with a reference measured in the same run.
//
//   dotnet run --project benchmarks/Recipes.Benchmarks -c Release -- lenet [--epochs 4] [--samples 20480]
//   dotnet run --project benchmarks/Recipes.Benchmarks -c Release -- resnet [--images 64]
//   dotnet run --project benchmarks/Recipes.Benchmarks -c Release -- allreduce [--repeat 10] [--fp16]   (then mnist cluster vs local[2])
//   dotnet run --project benchmarks/Recipes.Benchmarks -c Release -- mnist-cluster [--epochs 8] [--samples 20000] [--batch-size 512]
//   dotnet run --project benchmarks/Recipes.Benchmarks -c Release -- netns-allreduce [--repeat 5] [--no-training | --only-training]   (as root: emulated hosts)
//   dotnet run --project benchmarks/Recipes.Benchmarks -c Release -- images [--folder ../shared/data/cats-dogs] [--seconds 10]
//   dotnet run --project benchmarks/Recipes.Benchmarks -c Release -- xray [--folder ../shared/data/chestxray14/images] [--steps 3] [--seconds 4]
//   dotnet run --project benchmarks/Recipes.Benchmarks -c Release -- object-detection [--backbone resnet18] [--steps 3]
//   dotnet run --project benchmarks/Recipes.Benchmarks -c Release -- onnx-export [--images 64] [--threads 2]
//   dotnet run --project benchmarks/Recipes.Benchmarks -c Release -- serving-core [--requests 300] [--seconds 30]
//   dotnet run --project benchmarks/Recipes.Benchmarks -c Release -- serving-load [--model M] [--folder ../shared/data/cats-dogs] [--requests 10000] [--seconds 60]
//   dotnet run --project benchmarks/Recipes.Benchmarks -c Release -- pipeline [--recipes mnist ncf-explicit ncf-implicit anomaly] [--steps 40] [--rounds 3]
//
// The PyTorch reference needs Debian's python3-torch (apt-get install python3-torch; xray and object-detection also python3-torchvision),
// the PIL one python3-pil and python3-numpy; they run with /usr/bin/python3 unless --python says otherwise.
using System.CommandLine;
using Recipes.Benchmarks;
using Spectre.Console;

// Redirected output (a log, a pasted reply) would otherwise be cut at 80 columns and the tables wrapped cell by cell.
if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 160);

var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 4, Description = "Epochs per configuration (the first is warm-up)" };
var samples = new Option<int>("--samples") { DefaultValueFactory = _ => 20480, Description = "Random training samples per epoch" };
var python = new Option<string>("--python") { DefaultValueFactory = _ => "/usr/bin/python3", Description = "Python with torch for the reference" };
var lenet = new Command("lenet", "LeNet-5 training samples/s: TorchSharp local[1] and local[2] vs PyTorch") { epochs, samples, python };
lenet.SetAction(parsed => LeNetTrainingBenchmark.Run(parsed.GetValue(epochs), parsed.GetValue(samples), parsed.GetValue(python)!));
var timedImages = new Option<int>("--images") { DefaultValueFactory = _ => 64, Description = "Timed images per configuration (at least two batches)" };
var resnet = new Command("resnet", "ImageNet ResNet-18 forward ms/image: ONNX Runtime vs the imported TorchSharp network, batch 1 and 32, 1 and 2 threads") { timedImages };
resnet.SetAction(parsed => ResNetInferenceBenchmark.Run(parsed.GetValue(timedImages)));
var repeat = new Option<int>("--repeat") { DefaultValueFactory = _ => 10, Description = "Timed allreduces per size (after one warm-up)" };
var halfPrecision = new Option<bool>("--fp16") { Description = "Also time the ring with FP16 compression" };
var allreduce = new Command("allreduce", "TCP ring allreduce (2 and 3 processes) at 1/10/100 MB vs the in-process sum of two arrays") { repeat, halfPrecision };
allreduce.SetAction(parsed =>
{
    int exitCode = AllReduceBenchmark.Run(parsed.GetValue(repeat), parsed.GetValue(halfPrecision));
    return exitCode != 0 ? exitCode : ClusterTrainingBenchmark.Run(epochs: 8, samples: 20000, batchSize: 512);
});
var mpiSizes = new Option<string>("--sizes") { DefaultValueFactory = _ => "1,10,100", Description = "Megabytes to time, comma-separated" };
var mpiRank = new Command("mpi-rank", "One rank of the Open MPI allreduce timing (started by the allreduce benchmark through mpirun)") { repeat, mpiSizes };
mpiRank.Hidden = true;
mpiRank.SetAction(parsed => AllReduceBenchmark.RunMpiRank(parsed.GetValue(repeat), parsed.GetValue(mpiSizes)!));
var netnsRepeat = new Option<int>("--repeat") { DefaultValueFactory = _ => 5, Description = "Timed allreduces per size (after a warm-up)" };
var noTraining = new Option<bool>("--no-training") { Description = "Only the allreduce table, not the mnist cluster job across hosts" };
var onlyTraining = new Option<bool>("--only-training") { Description = "Only the mnist cluster job across hosts, not the allreduce table" };
var netnsAllreduce = new Command("netns-allreduce", "As root: ring allreduce across 2 and 3 emulated hosts (network namespaces) at 1 and 10 Gbit/s, plain and FP16, vs the link's limit " +
    "and Open MPI; then mnist across 3 hosts at 1 Gbit/s vs local[2], and with a straggler at 100 Mbit/s") { netnsRepeat, noTraining, onlyTraining };
netnsAllreduce.SetAction(parsed => parsed.GetValue(onlyTraining) ? NetnsAllReduceBenchmark.RunTraining()
    : NetnsAllReduceBenchmark.Run(parsed.GetValue(netnsRepeat), !parsed.GetValue(noTraining)));
var clusterEpochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 8, Description = "Epochs per configuration (the first is warm-up)" };
var clusterSamples = new Option<int>("--samples") { DefaultValueFactory = _ => 20000, Description = "Generated training samples" };
var clusterBatch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 512, Description = "Global batch (the recipe's default, 512)" };
var mnistCluster = new Command("mnist-cluster", "mnist training samples/s: 2 worker processes (cluster) vs local[2]") { clusterEpochs, clusterSamples, clusterBatch };
mnistCluster.SetAction(parsed => ClusterTrainingBenchmark.Run(parsed.GetValue(clusterEpochs), parsed.GetValue(clusterSamples), parsed.GetValue(clusterBatch)));
var folder = new Option<string>("--folder") { DefaultValueFactory = _ => "../shared/data/cats-dogs", Description = "A folder of JPEGs (searched recursively)" };
var seconds = new Option<double>("--seconds") { DefaultValueFactory = _ => 10, Description = "Timed seconds per configuration (after a warm-up pass)" };
var images = new Command("images", "Image preprocessing images/s: our pipeline with 1 and 2 workers vs PIL + numpy") { folder, seconds, python };
images.SetAction(parsed => ImagePipelineBenchmark.Run(parsed.GetValue(folder)!, parsed.GetValue(seconds), parsed.GetValue(python)!));
var xrayFolder = new Option<string>("--folder") { DefaultValueFactory = _ => "../shared/data/chestxray14/images", Description = "A folder of chest X-ray PNGs (searched recursively)" };
var xraySteps = new Option<int>("--steps") { DefaultValueFactory = _ => 3, Description = "Timed training steps per configuration (after 2 warm-up steps)" };
var xraySeconds = new Option<double>("--seconds") { DefaultValueFactory = _ => 4, Description = "Timed seconds per input pipeline configuration (after a warm-up pass)" };
var xray = new Command("xray", "xray recipe: ResNet-18 training and forward ms/image (ours vs PyTorch, batch 8/32, 1/2 threads) and the X-ray input pipeline's images/s (ours vs PIL)")
    { xrayFolder, xraySteps, xraySeconds, python };
xray.SetAction(parsed => XrayBenchmark.Run(parsed.GetValue(xrayFolder)!, parsed.GetValue(xraySteps), parsed.GetValue(xraySeconds), parsed.GetValue(python)!));
var detectionBackbone = new Option<string>("--backbone") { DefaultValueFactory = _ => "resnet18", Description = "The detector's backbone: resnet18 (ImageNet weights, layer1 frozen) or mobilenetv2" };
var detectionSteps = new Option<int>("--steps") { DefaultValueFactory = _ => 3, Description = "Timed steps per configuration (after 2 warm-up steps)" };
var objectDetection = new Command("object-detection", "object-detection recipe: SSD training ms/image and inference (with NMS) images/s, ours vs the same network in PyTorch, batch 8, 320x320, 1/2 threads")
    { detectionBackbone, detectionSteps, python };
objectDetection.SetAction(parsed => ObjectDetectionBenchmark.Run(parsed.GetValue(detectionBackbone)!, parsed.GetValue(detectionSteps), parsed.GetValue(python)!));
var pipelineRecipes = new Option<string[]>("--recipes") { DefaultValueFactory = _ => ["mnist", "ncf-explicit", "ncf-implicit", "anomaly"], AllowMultipleArgumentsPerToken = true,
    Description = "Recipes whose data path to time: mnist, ncf-explicit, ncf-implicit, anomaly" };
var pipelineSteps = new Option<int>("--steps") { DefaultValueFactory = _ => 40, Description = "Timed training steps per configuration (after 3 warm-up steps)" };
var pipelineRounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 3, Description = "Rounds of the three configurations, measured in turn (medians are reported)" };
var pipelineSamples = new Option<int>("--mnist-samples") { DefaultValueFactory = _ => 60000, Description = "Generated digits in the mnist training set" };
var pipelineMaster = new Option<string>("--master") { DefaultValueFactory = _ => "local[2]", Description = "Replicas for every recipe" };
var pipeline = new Command("pipeline", "Each recipe's training samples/s on its own data path (read on the step, read ahead) next to the trainer alone on the same batches in memory")
    { pipelineRecipes, pipelineSteps, pipelineRounds, pipelineSamples, pipelineMaster };
pipeline.SetAction(parsed => PipelineBenchmark.Run(parsed.GetValue(pipelineRecipes)!, parsed.GetValue(pipelineSteps), parsed.GetValue(pipelineRounds),
    parsed.GetValue(pipelineSamples), parsed.GetValue(pipelineMaster)!));
var exportImages = new Option<int>("--images") { DefaultValueFactory = _ => 64, Description = "Timed images per backend (batch 1, after 5 warm-up passes)" };
var exportThreads = new Option<int>("--threads") { DefaultValueFactory = _ => 2, Description = "Intra-op threads for both backends" };
var onnxExport = new Command("onnx-export", "ONNX export time of each recipe model, and the transfer classifier's ms/image at batch 1: ONNX Runtime on the exported file vs TorchSharp")
    { exportImages, exportThreads };
onnxExport.SetAction(parsed => OnnxExportBenchmark.Run(parsed.GetValue(exportImages), parsed.GetValue(exportThreads)));
var servingRequests = new Option<int>("--requests") { DefaultValueFactory = _ => 300, Description = "Timed requests per cell (after one untimed request per caller)" };
var servingSeconds = new Option<double>("--seconds") { DefaultValueFactory = _ => 30, Description = "Time limit per cell" };
var servingCore = new Command("serving-core", "Inference core (InferenceModel) with ImageNet ResNet-18: images/s and p50/p95/p99 latency at concurrency 1, 8, 32 for " +
    "1 copy without batching, one copy per core, dynamic batching; TorchSharp vs ONNX Runtime") { servingRequests, servingSeconds };
servingCore.SetAction(parsed => ServingCoreBenchmark.Run(parsed.GetValue(servingRequests), parsed.GetValue(servingSeconds)));
var loadModel = new Option<string?>("--model") { Description = "A saved transfer-learning model.bin (default: train a quick one on --folder first)" };
var loadFolder = new Option<string>("--folder") { DefaultValueFactory = _ => "../shared/data/cats-dogs", Description = "Photographs for the quick training and the JPEG sent (generated where missing)" };
var loadRequests = new Option<int>("--requests") { DefaultValueFactory = _ => 10_000, Description = "Requests per cell (configuration x concurrency), after an untimed warm-up" };
var loadSeconds = new Option<double>("--seconds") { DefaultValueFactory = _ => 60, Description = "Time limit per cell" };
var servingLoad = new Command("serving-load", "transfer-learning serve under HTTP load (POST /predict with a JPEG) at concurrency 1, 8, 32: requests/s, p50/p95/p99, errors, " +
    "server RSS; 1 copy without batching, one copy per core, dynamic batching; ONNX Runtime vs TorchSharp") { loadModel, loadFolder, loadRequests, loadSeconds };
servingLoad.SetAction(parsed => ServingLoadBenchmark.Run(parsed.GetValue(loadModel), parsed.GetValue(loadFolder)!, parsed.GetValue(loadRequests), parsed.GetValue(loadSeconds)));
var root = new RootCommand("Recipe runtime benchmarks") { lenet, pipeline, onnxExport, allreduce, netnsAllreduce, mpiRank, mnistCluster, images, resnet, xray, objectDetection, servingCore, servingLoad };
return root.Parse(args).Invoke();
