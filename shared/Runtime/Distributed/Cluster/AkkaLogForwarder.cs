using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;

namespace Recipes.Runtime.Distributed.Cluster;

/// <summary>
/// Akka's log, on standard error, one line per event and without stack traces. A closed connection to a peer
/// (<c>Disassociated</c>), and the failed reconnections to it that follow, are left out: in an elastic job they
/// are the expected sign of a lost process, and the
/// driver and workers report each loss themselves with the step number. Akka's default logger prints each as
/// an ERROR with a stack trace, which reads like a crash of the process that saw it.
/// </summary>
public sealed class AkkaLogForwarder : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    public AkkaLogForwarder()
    {
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(Write);
    }

    static void Write(LogEvent log)
    {
        if (log is not (Error or Warning) || IsPeerDisconnection(log)) return;
        string cause = log is Error { Cause: { } error } ? $" ({error.GetType().Name}: {error.Message})" : "";
        string message = (log.Message?.ToString() ?? "").Split('\n')[0].TrimEnd();
        Console.Error.WriteLine($"akka {log.LogLevel().ToString().Replace("Level", "", StringComparison.Ordinal).ToLowerInvariant()}: {message}{cause}");
    }

    // Akka's own exception types for these are internal: recognise them by name.
    static readonly string[] DisconnectionCauses = ["EndpointDisassociatedException", "InvalidAssociation", "ShutDownAssociation"];

    static bool IsPeerDisconnection(LogEvent log) =>
        log is Error { Cause: { } cause } && DisconnectionCauses.Contains(cause.GetType().Name)
        || log.Message?.ToString() is string message
            && (message.Contains("Disassociated", StringComparison.Ordinal) || message.StartsWith("Tried to associate with unreachable remote address", StringComparison.Ordinal));
}
