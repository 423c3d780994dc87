using System.Security.Cryptography;
using System.Text;

namespace Recipes.Runtime.Distributed.Cluster;

/// <summary>
/// The secret a worker must prove it knows to join a job. It comes from a file (<c>--secret-file</c>) or the
/// <see cref="EnvironmentVariable"/>, never from the command line, where any user of the machine could read
/// it. It never travels either: the driver sends a random nonce and the worker answers HMAC-SHA256(secret, nonce).
/// </summary>
public sealed class ClusterSecret
{
    public const string EnvironmentVariable = "RECIPES_CLUSTER_SECRET";
    const int MinimumLength = 8;
    readonly byte[] _key;

    ClusterSecret(byte[] key) => _key = key;

    public static ClusterSecret Load(string? file)
    {
        string secret;
        string origin;
        if (file is not null)
        {
            if (!File.Exists(file)) throw new Data.DataFileException(file, "no such file (--secret-file)");
            secret = File.ReadAllText(file).Trim();
            origin = file;
        }
        else
        {
            secret = Environment.GetEnvironmentVariable(EnvironmentVariable)?.Trim() ?? "";
            origin = EnvironmentVariable;
            if (secret.Length == 0)
                throw new ArgumentException($"cluster mode needs a shared secret: put it in a file given by --secret-file, or in {EnvironmentVariable}");
        }
        if (secret.Length < MinimumLength)
            throw new ArgumentException($"{origin}: the cluster secret must be at least {MinimumLength} characters");
        return new ClusterSecret(Encoding.UTF8.GetBytes(secret));
    }

    public static string NewNonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public string Prove(string nonceBase64) => Convert.ToBase64String(HMACSHA256.HashData(_key, Convert.FromBase64String(nonceBase64)));

    public bool Verify(string nonceBase64, string proofBase64)
    {
        byte[] expected = HMACSHA256.HashData(_key, Convert.FromBase64String(nonceBase64));
        try
        {
            return CryptographicOperations.FixedTimeEquals(expected, Convert.FromBase64String(proofBase64));
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
