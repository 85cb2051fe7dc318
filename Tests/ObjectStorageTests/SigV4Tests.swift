import Foundation
@testable import ObjectStorage
import Testing

struct SigV4Tests {
    /// AWS's worked example "GET Object" (Amazon S3 API reference, "Signature calculations for the
    /// Authorization header"): the first 10 bytes of examplebucket/test.txt on 2013-05-24.
    @Test func signsAWSsWorkedExample() {
        let signer = SigV4Signer(credentials: S3Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                                                            secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                                 region: "us-east-1")
        let empty = SigV4Signer.payloadDigest([])
        #expect(empty.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let headers = signer.sign(method: "GET", path: "/test.txt", query: [],
                                  headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")],
                                  payloadSHA256: empty.hex, date: AmzDate(stamp: "20130524T000000Z"))
        let authorization = headers.first { $0.0 == "authorization" }?.1
        #expect(authorization == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func datesAreUTCStamps() {
        #expect(AmzDate(secondsSinceEpoch: 1_369_353_600).stamp == "20130524T000000Z")
        #expect(AmzDate(secondsSinceEpoch: 951_827_696).stamp == "20000229T123456Z")
        #expect(AmzDate(secondsSinceEpoch: 0).stamp == "19700101T000000Z")
    }

    @Test func keysAndQueriesAreEncodedAsSigV4Canonicalises() {
        #expect(S3Path.encode("segments/000001-0000.pfs", keepSlash: true) == "segments/000001-0000.pfs")
        #expect(S3Path.encode("a b/ü+=", keepSlash: true) == "a%20b/%C3%BC%2B%3D")
        #expect(S3Path.encode("job/part-0/", keepSlash: false) == "job%2Fpart-0%2F")
    }

    @Test func listingsAndErrorsAreReadFromTheirXML() {
        let listing: Substring = """
            <ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a/x&amp;y.pfs</Key><Size>12</Size></Contents>\
            <CommonPrefixes><Prefix>a/segments/</Prefix></CommonPrefixes><NextContinuationToken>t&lt;1</NextContinuationToken></ListBucketResult>
            """
        #expect(S3XML.elements("Contents", in: listing).compactMap { S3XML.value("Key", in: $0) } == ["a/x&y.pfs"])
        #expect(S3XML.value("NextContinuationToken", in: listing) == "t<1")
        #expect(S3XML.values("Prefix", in: listing) == ["a/segments/"])
        #expect(S3XML.value("Code", in: "<Error><Code>NoSuchBucket</Code></Error>") == "NoSuchBucket")
    }

    @Test func settingsFollowTheAWSConventions() throws {
        let env = ["AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK", "AWS_REGION": "eu-west-3",
                   "AWS_ENDPOINT_URL": "http://127.0.0.1:8333/", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"]
        let given = try S3Settings.resolve(environment: env, endpointOverride: nil)
        #expect(given.endpoint == "http://127.0.0.1:8333" && given.pathStyle && given.region == "eu-west-3")
        #expect(!"\(given.credentials)".contains("SK"))
        let aws = try S3Settings.resolve(environment: env.filter { $0.key != "AWS_ENDPOINT_URL" }, endpointOverride: nil)
        #expect(aws.endpoint == "https://s3.eu-west-3.amazonaws.com" && !aws.pathStyle)
        #expect(throws: ObjectStoreError.self) {
            try S3Settings.resolve(environment: ["AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "HOME": "/nonexistent"],
                                   endpointOverride: nil)
        }
        #expect(throws: ObjectStoreError.self) { try S3Settings.endpoint("ftp://host") }
    }
}

struct SharedFileTests {
    /// A profile's keys from the shared credentials file, its region and endpoint from the config file
    /// (`[profile NAME]` there, `[NAME]` in the credentials file), as the AWS tools read them.
    @Test func aProfileComesFromTheSharedFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("promferry-aws-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
            [default]
            aws_access_key_id = DEFAULTKEY
            aws_secret_access_key = default-secret
            # a comment
            [archive]
            aws_access_key_id=ARCHIVEKEY
            aws_secret_access_key = archive/secret=
            aws_session_token = token-1
            """.write(toFile: dir + "/credentials", atomically: true, encoding: .utf8)
        try """
            [profile archive]
            region = eu-central-1
            endpoint_url = http://127.0.0.1:9000
            """.write(toFile: dir + "/config", atomically: true, encoding: .utf8)
        let files = ["AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials", "AWS_CONFIG_FILE": dir + "/config"]
        let archive = try S3Settings.resolve(environment: files.merging(["AWS_PROFILE": "archive"]) { $1 }, endpointOverride: nil)
        #expect(archive.credentials.accessKeyID == "ARCHIVEKEY" && archive.credentials.secretAccessKey == "archive/secret="
            && archive.credentials.sessionToken == "token-1")
        #expect(archive.region == "eu-central-1" && archive.endpoint == "http://127.0.0.1:9000" && archive.pathStyle)
        // The flag wins over the profile's endpoint; the environment's keys over the files'.
        let flagged = try S3Settings.resolve(environment: files.merging(["AWS_PROFILE": "archive", "AWS_ACCESS_KEY_ID": "ENVKEY",
                                                                          "AWS_SECRET_ACCESS_KEY": "env"]) { $1 },
                                             endpointOverride: "http://127.0.0.1:8333")
        #expect(flagged.endpoint == "http://127.0.0.1:8333" && flagged.credentials.accessKeyID == "ENVKEY")
        let plain = try S3Settings.resolve(environment: files, endpointOverride: nil)
        #expect(plain.credentials.accessKeyID == "DEFAULTKEY" && plain.region == "us-east-1" && !plain.pathStyle)
        let missing = #expect(throws: ObjectStoreError.self) {
            try S3Settings.resolve(environment: files.merging(["AWS_PROFILE": "nobody"]) { $1 }, endpointOverride: nil)
        }
        #expect(missing?.message.contains("profile \"nobody\"") == true)
    }
}
