//! A local AWS-compatible server for the tests: moto's standalone server (moto 5.2.5), started
//! on a loopback port by the test that needs it and killed when it is dropped. The real SDK
//! clients reach it through their endpoint setting (`AWS_ENDPOINT_URL` for the CLI's
//! processes).
//!
//! moto runs in a Python virtual environment: `EVENTSEAL_MOTO_PYTHON` names its interpreter,
//! or `target/moto-venv`, which `cargo xtask setup` creates (`cargo xtask test`, the README's
//! test command, runs that set-up first).
//!
//! Known differences of moto 5.2.5 from AWS, handled here and never by loosening eventseal:
//! - each request runs under one lock (tests/moto/serve.py): moto's threaded server does not
//!   serialise conditional writes on one key across concurrent requests;
//! - its rule -> SQS delivery drops the event's `account` field, which real EventBridge always
//!   sets and the binding needs: [`SQS_TARGET_TRANSFORMER`] rebuilds AWS's delivered shape;
//! - it cannot fail single entries of a valid PutEvents request: the per-entry retry is also
//!   tested against a recorded response (tests/put_events.rs).

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The account moto's resources live in.
pub const ACCOUNT: &str = "123456789012";
/// The region the tests use.
pub const REGION: &str = "us-east-1";

/// moto's version, pinned: its differences from AWS (above) are known for this one.
const MOTO: &str = "moto[server]==5.2.5";

/// The target's InputTransformer that rebuilds the event as AWS delivers it (moto's own
/// rule -> SQS delivery leaves out `account`). moto substitutes values as they are, so string
/// placeholders are quoted here.
pub const SQS_TARGET_TRANSFORMER: (&str, &str) = (
    r#"{"version":"$.version","id":"$.id","detail-type":"$.detail-type","source":"$.source","account":"$.account","time":"$.time","region":"$.region","resources":"$.resources","detail":"$.detail"}"#,
    r#"{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", "account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, "detail": <detail>}"#,
);

fn workspace_target() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target")
}

/// The Python interpreter of the virtual environment with moto: `EVENTSEAL_MOTO_PYTHON`, or
/// `target/moto-venv`, which `cargo xtask setup` (and `cargo xtask test`) creates. A missing
/// one fails the test, naming that command: no AWS test is skipped for want of moto.
pub fn moto_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            if let Some(p) = std::env::var_os("EVENTSEAL_MOTO_PYTHON") {
                return PathBuf::from(p);
            }
            let python = workspace_target().join("moto-venv/bin/python");
            let has_moto = Command::new(&python)
                .args(["-c", "import moto.server, werkzeug"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                has_moto,
                "{} has no moto: run `cargo xtask setup` (it creates target/moto-venv with \
                 pip install \"{MOTO}\"), or set EVENTSEAL_MOTO_PYTHON",
                python.display()
            );
            python
        })
        .clone()
}

/// A running moto server.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Moto {
    /// Starts a server on a free loopback port and waits until it answers.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// [`Moto::start`] with extra arguments to serve.py (`--stock-kms-digest`).
    pub fn start_with(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// [`Moto::start_with`] with environment variables for moto (its settings, such as
    /// `INITIAL_NO_AUTH_ACTION_COUNT`: IAM enforced after that many requests).
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let python = moto_python();
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        // From either package's tests (eventseal-aws's own, or the CLI's).
        let serve =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../eventseal-aws/tests/moto/serve.py");
        let logs = workspace_target().join("moto-logs");
        std::fs::create_dir_all(&logs).unwrap();
        let log_path = logs.join(format!("{port}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(python)
            .arg(serve)
            .arg(port.to_string())
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start moto");
        let mut moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = moto.child.try_wait() {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("moto exited at start: {status}\n{log}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// The SDK configuration for this server: static test credentials, [`REGION`], the
    /// server as the endpoint (what `AWS_ENDPOINT_URL` sets).
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config_for(&self.endpoint).await
    }

    /// Creates an IAM user whose only permissions are `actions` (on every resource) with
    /// boto3 in moto's own environment, and returns its access key id and secret. Three
    /// requests: count them in `INITIAL_NO_AUTH_ACTION_COUNT` when IAM is enforced.
    pub fn iam_user_allowed(&self, name: &str, actions: &[&str]) -> (String, String) {
        let script = r#"
import json, sys, boto3
endpoint, name, actions = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
iam.create_user(UserName=name)
iam.put_user_policy(UserName=name, PolicyName="only", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
key = iam.create_access_key(UserName=name)["AccessKey"]
print(json.dumps([key["AccessKeyId"], key["SecretAccessKey"]]))
"#;
        let out = Command::new(moto_python())
            .args(["-c", script, &self.endpoint, name])
            .arg(serde_json::to_string(actions).unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let [id, secret]: [String; 2] = serde_json::from_slice(&out.stdout).unwrap();
        (id, secret)
    }

    /// The SDK configuration for this server with the given credentials.
    pub async fn sdk_config_as(&self, access_key_id: &str, secret: &str) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new(REGION))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                access_key_id,
                secret,
                None,
                None,
                "tests",
            ))
            .timeout_config(eventseal_aws::dynamodb::default_timeouts())
            .load()
            .await
    }

    /// Environment variables that point a process's SDK at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The SDK configuration for an endpoint (also one where nothing listens).
pub async fn sdk_config_for(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .timeout_config(eventseal_aws::dynamodb::default_timeouts())
        .load()
        .await
}

/// Creates a replay table with the Powertools schema (partition key `id`, on-demand).
pub async fn create_replay_table(client: &aws_sdk_dynamodb::Client, table: &str) {
    create_table_keyed(client, table, "id").await;
}

/// Creates an on-demand table whose partition key (a string) is `key`.
pub async fn create_table_keyed(client: &aws_sdk_dynamodb::Client, table: &str, key: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    client
        .create_table()
        .table_name(table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

/// A bus, a queue, and a rule delivering the bus's events from `eb_source` to the queue (with
/// [`SQS_TARGET_TRANSFORMER`]). Returns the queue URL.
pub async fn bus_to_queue(config: &aws_config::SdkConfig, bus: &str, eb_source: &str) -> String {
    use aws_sdk_eventbridge::types::{InputTransformer, Target};
    let events = aws_sdk_eventbridge::Client::new(config);
    let sqs = aws_sdk_sqs::Client::new(config);
    events.create_event_bus().name(bus).send().await.unwrap();
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("{bus}-queue"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{bus}-queue");
    events
        .put_rule()
        .name(format!("{bus}-rule"))
        .event_bus_name(bus)
        .event_pattern(serde_json::json!({ "source": [eb_source] }).to_string())
        .send()
        .await
        .unwrap();
    let (paths, template) = SQS_TARGET_TRANSFORMER;
    let paths: std::collections::HashMap<String, String> = serde_json::from_str(paths).unwrap();
    events
        .put_targets()
        .rule(format!("{bus}-rule"))
        .event_bus_name(bus)
        .targets(
            Target::builder()
                .id("queue")
                .arn(queue_arn)
                .input_transformer(
                    InputTransformer::builder()
                        .set_input_paths_map(Some(paths))
                        .input_template(template)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    queue_url
}

/// Receives every message now in the queue (without deleting them) and builds the Lambda
/// SQS event a function would get for them, as JSON (Lambda's shape).
pub async fn receive_all(config: &aws_config::SdkConfig, queue_url: &str) -> serde_json::Value {
    let sqs = aws_sdk_sqs::Client::new(config);
    let mut records = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .send()
            .await
            .unwrap();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            records.push(serde_json::json!({
                "messageId": m.message_id.unwrap(),
                "receiptHandle": m.receipt_handle.unwrap(),
                "body": m.body.unwrap(),
                "attributes": { "ApproximateReceiveCount": "1" },
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body.unwrap_or_default(),
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:queue"),
                "awsRegion": REGION,
            }));
        }
    }
    serde_json::json!({ "Records": records })
}

/// Creates a KMS key of `spec` and `usage`; returns its key id and ARN.
pub async fn create_kms_key(
    client: &aws_sdk_kms::Client,
    spec: aws_sdk_kms::types::KeySpec,
    usage: aws_sdk_kms::types::KeyUsageType,
) -> (String, String) {
    let out = client
        .create_key()
        .key_spec(spec)
        .key_usage(usage)
        .send()
        .await
        .unwrap();
    let meta = out.key_metadata().unwrap();
    (meta.key_id().to_owned(), meta.arn().unwrap().to_owned())
}

/// Creates an `ECC_NIST_P256` `SIGN_VERIFY` key (eventseal's KMS signing key); returns its
/// key id and ARN.
pub async fn create_signing_key(client: &aws_sdk_kms::Client) -> (String, String) {
    create_kms_key(
        client,
        aws_sdk_kms::types::KeySpec::EccNistP256,
        aws_sdk_kms::types::KeyUsageType::SignVerify,
    )
    .await
}
