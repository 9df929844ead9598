// An OCPP 2.0.1 charging station written independently of ocppscope's Python peers, in C# on
// System.Net.WebSockets.ClientWebSocket, as a station vendor's .NET firmware tooling would be.
// It boots, reports its connector, authorizes a token, starts a transaction, sends one meter value,
// optionally waits for one command of the CSMS, and ends the transaction; every CALL of the CSMS
// is answered, whenever it comes. JSON is composed by hand and read with the JSON reader of
// System.Runtime.Serialization (Mono ships it; no NuGet package is needed).
//
// Usage: mono Charger.exe URL LOG [--ca CA.pem] [--id-token TAG] [--meter-start WH]
//                              [--meter-stop WH] [--await-command] [--broken]
// LOG gets one line per frame, "send BASE64" or "recv BASE64" of its UTF-8 bytes, in order.
// --ca adds the certificate authority that a wss:// server's certificate must chain to to Mono's
// trust store of the user; run it with XDG_CONFIG_HOME set to a directory of its own. --broken
// sends the first StatusNotification with its evseId as a string, a schema violation (OCPP-J
// 2.0.1 §4.1.7 wants it answered with a CALLERROR, which the charger takes and goes on).
// Exit status 0 once the transaction has ended; 1 on any failure, with the reason on stderr.

using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net.WebSockets;
using System.Runtime.Serialization.Json;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using System.Xml;
using Mono.Security.X509;

static class Json
{
    public static string Str(string value)
    {
        var text = new StringBuilder("\"");
        foreach (char c in value)
        {
            if (c == '"' || c == '\\') text.Append('\\').Append(c);
            else if (c < ' ') text.AppendFormat("\\u{0:x4}", (int)c);
            else text.Append(c);
        }
        return text.Append('"').ToString();
    }

    public static string Num(double value)
    {
        return value.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>JSON as the XML tree JsonReaderWriterFactory makes of it: elements of
    /// type="array" hold "item" elements, objects hold one element per property.</summary>
    public static XmlElement Parse(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        using (var reader = JsonReaderWriterFactory.CreateJsonReader(bytes, XmlDictionaryReaderQuotas.Max))
        {
            var document = new XmlDocument();
            document.Load(reader);
            return document.DocumentElement;
        }
    }

    public static List<XmlElement> Items(XmlElement array)
    {
        var items = new List<XmlElement>();
        foreach (XmlNode node in array.ChildNodes)
            if (node is XmlElement) items.Add((XmlElement)node);
        return items;
    }

    /// <summary>The text at a path of property names, or null.</summary>
    public static string At(XmlElement element, params string[] path)
    {
        XmlElement current = element;
        foreach (string name in path)
        {
            XmlElement next = null;
            foreach (XmlElement child in Items(current))
                if (child.LocalName == name || child.GetAttribute("item") == name) next = child;
            if (next == null) return null;
            current = next;
        }
        return current.InnerText;
    }
}

class Station
{
    readonly ClientWebSocket socket;
    readonly StreamWriter log;
    readonly TimeSpan step = TimeSpan.FromSeconds(15);
    int nextId;
    public int CommandsAnswered;

    public Station(ClientWebSocket socket, StreamWriter log)
    {
        this.socket = socket;
        this.log = log;
    }

    static string Now()
    {
        return DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
    }

    async Task Send(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        log.WriteLine("send " + Convert.ToBase64String(bytes));
        using (var cancel = new CancellationTokenSource(step))
            await socket.SendAsync(new ArraySegment<byte>(bytes), WebSocketMessageType.Text, true, cancel.Token);
    }

    async Task<string> Receive()
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        using (var cancel = new CancellationTokenSource(step))
        {
            while (true)
            {
                var part = await socket.ReceiveAsync(new ArraySegment<byte>(buffer), cancel.Token);
                if (part.MessageType == WebSocketMessageType.Close)
                    throw new Exception("the CSMS closed the connection: " + part.CloseStatus);
                message.Write(buffer, 0, part.Count);
                if (part.EndOfMessage) break;
            }
        }
        var bytes = message.ToArray();
        log.WriteLine("recv " + Convert.ToBase64String(bytes));
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Answers one CALL of the CSMS: what this station supports is accepted, the
    /// rest gets NotImplemented (OCPP-J 2.0.1 §4.3).</summary>
    async Task Answer(List<XmlElement> frame)
    {
        string id = Json.Str(frame[1].InnerText);
        string action = frame[2].InnerText;
        CommandsAnswered++;
        if (action == "SetChargingProfile" || action == "RequestStopTransaction")
            await Send("[3," + id + ",{\"status\":\"Accepted\"}]");
        else
            await Send("[4," + id + ",\"NotImplemented\"," + Json.Str(action + " is not implemented") + ",{}]");
    }

    /// <summary>Sends a CALL and returns its CALLRESULT payload, answering the CSMS's own CALLs
    /// meanwhile; a CALLERROR is returned as null when allowed, else it fails.</summary>
    public async Task<XmlElement> Call(string action, string payload, bool errorAllowed = false)
    {
        string id = "cs-" + (++nextId);
        await Send("[2," + Json.Str(id) + "," + Json.Str(action) + "," + payload + "]");
        for (int received = 0; received < 100; received++)
        {
            var frame = Json.Items(Json.Parse(await Receive()));
            string type = frame[0].InnerText;
            if (type == "2") { await Answer(frame); continue; }
            if (frame[1].InnerText != id) throw new Exception("answer to an unknown id " + frame[1].InnerText);
            if (type == "3") return frame[2];
            if (errorAllowed) return null;
            throw new Exception(action + " answered with CALLERROR " + frame[2].InnerText);
        }
        throw new Exception("no answer to " + action);
    }

    /// <summary>Waits for one CALL of the CSMS and answers it.</summary>
    public async Task AwaitCommand()
    {
        var frame = Json.Items(Json.Parse(await Receive()));
        if (frame[0].InnerText != "2") throw new Exception("expected a CALL of the CSMS");
        await Answer(frame);
    }

    public static string MeterValue(double registerWh)
    {
        return "[{\"timestamp\":" + Json.Str(Now()) + ",\"sampledValue\":[{\"value\":" + Json.Num(registerWh)
            + ",\"measurand\":\"Energy.Active.Import.Register\",\"unitOfMeasure\":{\"unit\":\"Wh\"}}]}]";
    }

    /// <summary>A StatusNotificationRequest; `broken`: its evseId a string, not the integer the
    /// schema wants.</summary>
    public static string Status(string connectorStatus, bool broken = false)
    {
        return "{\"timestamp\":" + Json.Str(Now()) + ",\"connectorStatus\":" + Json.Str(connectorStatus)
            + ",\"evseId\":" + (broken ? "\"1\"" : "1") + ",\"connectorId\":1}";
    }

    public static string TransactionEvent(string eventType, int seqNo, string trigger, string transactionInfo,
                                          double registerWh, string extra)
    {
        return "{\"eventType\":" + Json.Str(eventType) + ",\"timestamp\":" + Json.Str(Now())
            + ",\"triggerReason\":" + Json.Str(trigger) + ",\"seqNo\":" + seqNo
            + ",\"transactionInfo\":" + transactionInfo + ",\"meterValue\":" + MeterValue(registerWh) + extra + "}";
    }
}

static class Program
{
    /// <summary>Adds the CA to Mono's trust store of the user (XDG_CONFIG_HOME/.mono/new-certs/Trust,
    /// what Mono's `cert-sync --user` fills). Mono's ClientWebSocket calls neither
    /// Options.RemoteCertificateValidationCallback nor ServicePointManager's callback, so its TLS
    /// (BoringSSL) checks the chain and the host name against this store itself.</summary>
    static void Trust(string caPem)
    {
        var ca = new X509Certificate2(caPem);
        X509StoreManager.NewCurrentUser.TrustedRoot.Import(new Mono.Security.X509.X509Certificate(ca.RawData));
    }

    static string Option(string[] args, string name, string fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
    }

    static async Task Run(string[] args)
    {
        var url = new Uri(args[0]);
        string ca = Option(args, "--ca", null);
        string idToken = "{\"idToken\":" + Json.Str(Option(args, "--id-token", "CSHARP-0001")) + ",\"type\":\"ISO14443\"}";
        double meterStart = double.Parse(Option(args, "--meter-start", "20000"), CultureInfo.InvariantCulture);
        double meterStop = double.Parse(Option(args, "--meter-stop", "21700"), CultureInfo.InvariantCulture);
        bool broken = Array.IndexOf(args, "--broken") >= 0;
        if (ca != null) Trust(ca);
        using (var log = new StreamWriter(args[1]) { AutoFlush = true })
        using (var socket = new ClientWebSocket())
        {
            socket.Options.AddSubProtocol("ocpp2.0.1");
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            using (var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
                await socket.ConnectAsync(url, cancel.Token);
            if (socket.SubProtocol != "ocpp2.0.1")
                throw new Exception("the CSMS selected subprotocol '" + socket.SubProtocol + "'");
            var station = new Station(socket, log);

            var boot = await station.Call("BootNotification",
                "{\"chargingStation\":{\"model\":\"MonoCharger\",\"vendorName\":\"ocppscope interop\"},\"reason\":\"PowerUp\"}");
            if (Json.At(boot, "status") != "Accepted") throw new Exception("boot " + Json.At(boot, "status"));
            await station.Call("StatusNotification", Station.Status("Available", broken), broken);
            var authorized = await station.Call("Authorize", "{\"idToken\":" + idToken + "}");
            if (Json.At(authorized, "idTokenInfo", "status") != "Accepted")
                throw new Exception("token " + Json.At(authorized, "idTokenInfo", "status"));
            await station.Call("StatusNotification", Station.Status("Occupied"));

            string transactionId = "CS-" + Guid.NewGuid().ToString("N").Substring(0, 12);
            string started = "{\"transactionId\":" + Json.Str(transactionId) + ",\"chargingState\":\"Charging\"}";
            await station.Call("TransactionEvent", Station.TransactionEvent("Started", 0, "Authorized", started,
                meterStart, ",\"evse\":{\"id\":1,\"connectorId\":1},\"idToken\":" + idToken));
            await station.Call("TransactionEvent", Station.TransactionEvent("Updated", 1, "MeterValuePeriodic", started,
                (meterStart + meterStop) / 2, ""));
            if (Array.IndexOf(args, "--await-command") >= 0) await station.AwaitCommand();
            string ended = "{\"transactionId\":" + Json.Str(transactionId)
                + ",\"chargingState\":\"EVConnected\",\"stoppedReason\":\"Local\"}";
            await station.Call("TransactionEvent", Station.TransactionEvent("Ended", 2, "StopAuthorized", ended,
                meterStop, ",\"idToken\":" + idToken));
            await station.Call("StatusNotification", Station.Status("Available"));

            using (var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cancel.Token);
            Console.WriteLine("transaction " + transactionId + " ended; commands answered: " + station.CommandsAnswered);
        }
    }

    static int Main(string[] args)
    {
        if (args.Length < 2)
        {
            Console.Error.WriteLine("usage: Charger.exe URL LOG [--ca CA.pem] [--await-command] [--broken] ...");
            return 2;
        }
        try
        {
            Run(args).GetAwaiter().GetResult();
            return 0;
        }
        catch (Exception error)
        {
            Console.Error.WriteLine("charger failed: " + error);
            return 1;
        }
    }
}
