using System.Globalization;
using System.Net;
using Akka.Configuration;

namespace Recipes.Runtime.Distributed.Cluster;

/// <summary>Akka settings for the driver and the workers, and how addresses are written.</summary>
public static class ClusterConfiguration
{
    public const string SystemName = "recipes";
    public const string DriverActorName = "driver";

    /// <summary>
    /// Akka.Cluster with the driver as the only seed node. No split-brain resolver: the driver itself downs a
    /// worker it has lost (so a two-worker job survives the loss of either), and a worker that loses the driver
    /// stops. A dead worker is found within a second by the ring (its sockets close) and a probe; Akka's
    /// failure detector is only the backstop for a silent node, so it is lenient: a busy machine (two cores
    /// training flat out) delays heartbeats by seconds, and a strict detector would down healthy workers.
    /// </summary>
    public static Config Create(IPEndPoint bind, IPEndPoint driver, string role) => ConfigurationFactory.ParseString($$"""
        akka {
          loglevel = WARNING
          stdout-loglevel = ERROR
          loggers = ["Recipes.Runtime.Distributed.Cluster.AkkaLogForwarder, Recipes.Runtime"]
          log-dead-letters = off
          log-dead-letters-during-shutdown = off
          actor.provider = cluster
          remote {
            log-remote-lifecycle-events = off
            dot-netty.tcp {
              hostname = "{{bind.Address}}"
              port = {{bind.Port.ToString(CultureInfo.InvariantCulture)}}
            }
          }
          cluster {
            seed-nodes = ["akka.tcp://{{SystemName}}@{{driver.Address}}:{{driver.Port.ToString(CultureInfo.InvariantCulture)}}"]
            roles = [{{role}}]
            downing-provider-class = ""
            failure-detector {
              heartbeat-interval = 1s
              acceptable-heartbeat-pause = 6s
            }
            log-info = off
          }
          coordinated-shutdown.run-by-clr-shutdown-hook = off
        }
        """);

    public static string DriverPath(IPEndPoint driver) =>
        $"akka.tcp://{SystemName}@{driver.Address}:{driver.Port.ToString(CultureInfo.InvariantCulture)}/user/{DriverActorName}";

    /// <summary>Parses host:port (a name is resolved to its first IPv4 address).</summary>
    public static IPEndPoint ParseEndPoint(string text, string option)
    {
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
            throw new ArgumentException($"{option} '{text}' is not host:port");
        string host = text[..colon];
        if (!IPAddress.TryParse(host, out var address))
            address = Dns.GetHostAddresses(host).FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                ?? throw new ArgumentException($"{option}: cannot resolve '{host}'");
        return new IPEndPoint(address, port);
    }
}
