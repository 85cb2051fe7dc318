import Foundation
public import ObjectStorage

/// A real S3-compatible store: SeaweedFS (`weed mini`: master, volume, filer and S3 gateway in one
/// process) on 127.0.0.1 and free ports, with its own data directory and an identities file, so
/// that every request's SigV4 signature is checked against `accessKey` and `secretKey`.
public final class SeaweedServer: @unchecked Sendable {
    public static let accessKey = "AKIDPROMFERRYTEST"
    public static let secretKey = "promferry-test-secret-key/42"
    public let port: Int
    public let directory: TemporaryDirectory
    private let process: ManagedProcess

    public var endpoint: String { "http://127.0.0.1:\(port)" }

    /// The AWS environment a client of this store needs (and awscli uses as is).
    public var environment: [String: String] {
        ["AWS_ACCESS_KEY_ID": Self.accessKey, "AWS_SECRET_ACCESS_KEY": Self.secretKey, "AWS_REGION": "us-east-1",
         "AWS_ENDPOINT_URL": endpoint, "AWS_CONFIG_FILE": directory.path + "/no-aws-config",
         "AWS_SHARED_CREDENTIALS_FILE": directory.path + "/no-aws-credentials"]
    }

    /// The same, for an in-process client.
    public var settings: S3Settings {
        S3Settings(credentials: S3Credentials(accessKeyID: Self.accessKey, secretAccessKey: Self.secretKey), region: "us-east-1",
                   endpoint: endpoint, pathStyle: true)
    }

    private init(port: Int, directory: TemporaryDirectory, process: ManagedProcess) {
        self.port = port
        self.directory = directory
        self.process = process
    }

    public static func start() async throws -> SeaweedServer {
        let binary = try PeerBinary.find("weed")
        let directory = try TemporaryDirectory(prefix: "promferry-weed")
        try FileManager.default.createDirectory(atPath: directory.path + "/data", withIntermediateDirectories: true)
        let identities = #"{"identities":[{"name":"promferry","credentials":[{"accessKey":"\#(accessKey)","secretKey":"\#(secretKey)"}],"#
            + #""actions":["Admin","Read","Write","List","Tagging"]}]}"#
        try identities.write(toFile: directory.path + "/s3.json", atomically: true, encoding: .utf8)
        let ports = try (0..<10).map { _ in try FreePort.allocate() }
        let port = ports[0]
        // Loopback only: weed's default address is not.
        let process = try ManagedProcess(executable: binary, arguments: [
            "mini", "-dir=\(directory.path)/data", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-s3.port=\(port)", "-s3.port.grpc=\(ports[1])", "-master.port=\(ports[2])", "-master.port.grpc=\(ports[3])",
            "-volume.port=\(ports[4])", "-volume.port.grpc=\(ports[5])", "-filer.port=\(ports[6])", "-filer.port.grpc=\(ports[7])",
            "-admin.port=\(ports[8])", "-admin.port.grpc=\(ports[9])", "-admin.ui=false", "-webdav=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.config=\(directory.path)/s3.json",
        ], logPath: directory.path + "/weed.log")
        let server = SeaweedServer(port: port, directory: directory, process: process)
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                server.stop()
                throw PeerHarnessError("weed mini exited during start-up:\n\(process.logTail())")
            }
            // Any HTTP answer (403 to an unsigned request) means the S3 gateway listens; a bucket made means the rest is up.
            if (try? await HTTPProbe.status(server.endpoint + "/")) != nil, (try? server.aws(["s3", "mb", "s3://probe"])) != nil {
                return server
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        server.stop()
        throw PeerHarnessError("weed mini on port \(port) was not ready after 90 s:\n\(process.logTail())")
    }

    /// Runs awscli against this store (an independent S3 client); returns its output.
    @discardableResult
    public func aws(_ arguments: [String]) throws -> String {
        try Command.run(try PeerBinary.find("aws"), arguments, environment: environment)
    }

    /// Creates a bucket.
    public func makeBucket(_ name: String) throws { try aws(["s3", "mb", "s3://\(name)"]) }

    /// Keys under `prefix` of `bucket`, with sizes.
    public func list(_ bucket: String, prefix: String) throws -> [String: Int] {
        let text = try aws(["s3api", "list-objects-v2", "--bucket", bucket, "--prefix", prefix, "--output", "json"])
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return [:] }
        var keys: [String: Int] = [:]
        for entry in object["Contents"] as? [[String: Any]] ?? [] {
            if let key = entry["Key"] as? String { keys[key] = entry["Size"] as? Int ?? 0 }
        }
        return keys
    }

    public func stop() {
        process.stop()
        directory.remove()
    }

    public static func with<T>(_ body: (SeaweedServer) async throws -> T) async throws -> T {
        let server = try await start()
        do {
            let result = try await body(server)
            server.stop()
            return result
        } catch {
            server.stop()
            throw error
        }
    }
}
