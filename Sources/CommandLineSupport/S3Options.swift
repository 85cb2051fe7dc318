public import ArgumentParser
import ObjectStorage

/// `--s3-endpoint`: the S3-compatible store that `s3://` archives are on. Credentials and region
/// come from the AWS environment and files (`S3Settings`), never from flags, so that no secret
/// appears in a process listing.
public struct S3Options: ParsableArguments {
    @Option(name: .customLong("s3-endpoint"),
            help: ArgumentHelp("The S3-compatible store for s3://BUCKET/PREFIX archives, e.g. http://127.0.0.1:8333 (addressed "
                + "path-style). Default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's endpoint_url, else AWS itself. "
                + "Credentials and region follow the AWS conventions (AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_REGION).", valueName: "url"))
    public var endpoint: String?

    public init() {}

    /// Checks the URL, and records it for this process (parsing runs once, before any archive is opened).
    public func validate() throws {
        guard let endpoint else { return }
        do {
            _ = try S3Settings.endpoint(endpoint)
        } catch let error as ObjectStoreError {
            throw ValidationError("--s3-endpoint: " + error.message)
        }
        S3Settings.endpointOverride = endpoint
    }
}
