"""Seed the AWS emulator with compliant and non-compliant Lambda functions.

``seed(endpoint_url, functions=N)`` creates, in account 123456789012 / us-east-1:

* the demo services' functions: ``payments-api`` and ``loans-engine`` built like a well-run
  app (VPC over two AZs, KMS CMK for the environment, DLQ and on-failure destination, alias
  ``live`` on a published version with provisioned concurrency, X-Ray, reserved concurrency,
  JSON logs to a group with 365-day retention and KMS, Errors/Throttles/Duration/concurrency
  alarms, required tags, its own least-privilege role with a permission boundary (and AWS's
  AWSXRayDaemonWriteAccess when the emulator holds AWS-managed policies), CodeDeploy
  canary with alarm rollback, enforced code signing), and non-compliant ones
  (``payments-legacy`` with a canary secret in its environment, ``payments-public`` with a
  public function URL and an admin role, ``loans-batch``);
* ``functions`` more compliant functions named ``<prefix>NNNN`` (benchmarks).

Talks to the emulator with boto3 (dummy credentials): it is a client like any other.
"""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

ACCOUNT = "123456789012"
REGION = "us-east-1"
COLLECTOR_ROLE = "prr-collector"
# The value the redaction test hunts for in the database, logs and exports.
CANARY_SECRET = "prr-canary-7Hq2vN9xL4sK8dR3"
BOUNDARY_NAME = "prr-lambda-boundary"
# AWS-managed policies attached to the demo's roles (their documents are read with IAM GetPolicy
# and GetPolicyVersion). moto holds them only when started with MOTO_IAM_LOAD_MANAGED_POLICIES
# set to true; without them the seeder attaches an account copy of AdministratorAccess and no
# X-Ray policy (the compliant roles' own policy already grants the X-Ray writes), so every
# check's outcome is the same either way.
AWS_ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
AWS_XRAY_POLICY = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"
REQUIRED_TAGS = {"owner": "team@example.com", "cost-center": "cc-1234"}


def _clients(endpoint_url: str, region: str):
    session = boto3.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the emulator's dummy credentials
        region_name=region,
    )
    config = Config(retries={"mode": "standard", "max_attempts": 10}, max_pool_connections=16)

    def make(name):
        return session.client(name, endpoint_url=endpoint_url, config=config)

    return make


_EXISTS = {
    "EntityAlreadyExists",
    "ResourceConflictException",
    "ResourceAlreadyExistsException",
    "ResourceExistsException",
    "DeploymentGroupAlreadyExistsException",
    "ApplicationAlreadyExistsException",
}


def _once(call, **kwargs):
    """Create something; a retried create that already succeeded is not an error."""
    from botocore.exceptions import ClientError

    try:
        return call(**kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _EXISTS:
            raise
        return None


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return {'ok': True}\n")
    return buf.getvalue()


TRUST_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


class Seeder:
    def __init__(self, endpoint_url: str, region: str = REGION):
        self.endpoint_url = endpoint_url
        self.region = region
        make = self.make = _clients(endpoint_url, region)
        self.iam = make("iam")
        self.lam = make("lambda")
        self.ec2 = make("ec2")
        self.kms = make("kms")
        self.sqs = make("sqs")
        self.logs = make("logs")
        self.cw = make("cloudwatch")
        self.cd = make("codedeploy")
        self.sm = make("secretsmanager")
        self.apigw = make("apigateway")
        self.waf = make("wafv2")
        self.sh = make("securityhub")
        self.code = _zip()
        self.log_arn_prefix = f"arn:aws:logs:{region}:{ACCOUNT}"
        self.log_arn_prefix = f"arn:aws:logs:{region}:{ACCOUNT}"

    # --- shared infrastructure -------------------------------------------------------------
    def base(self) -> None:
        self._collector_role()
        vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        self.subnets = [
            self.ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az)["Subnet"][
                "SubnetId"
            ]
            for cidr, az in (("10.0.1.0/24", f"{self.region}a"), ("10.0.2.0/24", f"{self.region}b"))
        ]
        self.single_az_subnet = self.subnets[0]
        sg = self.ec2.create_security_group(GroupName="prr-app", Description="app", VpcId=vpc)
        self.sg = sg["GroupId"]
        self.ec2.revoke_security_group_egress(
            GroupId=self.sg,
            IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
        self.ec2.authorize_security_group_egress(
            GroupId=self.sg,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                }
            ],
        )
        open_sg = self.ec2.create_security_group(GroupName="prr-open", Description="o", VpcId=vpc)
        self.open_sg = open_sg["GroupId"]
        self.cmk = self.kms.create_key(Description="prr app key")["KeyMetadata"]["Arn"]
        self.kms.enable_key_rotation(KeyId=self.cmk)
        self.norotate_cmk = self.kms.create_key(Description="legacy key")["KeyMetadata"]["Arn"]
        boundary = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": [
                        "logs:*",
                        "sqs:*",
                        "kms:Decrypt",
                        "secretsmanager:GetSecretValue",
                        "xray:*",
                        "dynamodb:*",
                    ],
                    "Resource": "*",
                }
            ],
        }
        self.boundary_arn = self.iam.create_policy(
            PolicyName=BOUNDARY_NAME, PolicyDocument=json.dumps(boundary)
        )["Policy"]["Arn"]
        csc = self.lam.create_code_signing_config(
            AllowedPublishers={
                "SigningProfileVersionArns": [
                    f"arn:aws:signer:{self.region}:{ACCOUNT}:/signing-profiles/prr/abc123"
                ]
            },
            CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"},
        )
        self.csc_arn = csc["CodeSigningConfig"]["CodeSigningConfigArn"]
        # Layers of other accounts: moto cannot hold them, the emulator middleware keeps them.
        self.insights_layer = (
            f"arn:aws:lambda:{self.region}:580247275435:layer:LambdaInsightsExtension-Arm64:20"
        )
        self.untrusted_layer = f"arn:aws:lambda:{self.region}:111122223333:layer:random-utils:3"
        self.topic_arn = f"arn:aws:sns:{self.region}:{ACCOUNT}:prr-oncall"
        self.apps: set[str] = set()
        self.aws_managed = self._has_aws_managed_policies()

    def _has_aws_managed_policies(self) -> bool:
        """Whether the emulator holds AWS's managed policies (see ``AWS_ADMIN_POLICY``)."""
        try:
            self.iam.get_policy(PolicyArn=AWS_ADMIN_POLICY)
        except self.iam.exceptions.NoSuchEntityException:
            return False
        return True

    def _collector_role(self) -> None:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        with contextlib.suppress(self.iam.exceptions.EntityAlreadyExistsException):
            self.iam.create_role(
                RoleName=COLLECTOR_ROLE, AssumeRolePolicyDocument=json.dumps(trust)
            )

    # --- one compliant function ----------------------------------------------------------
    def compliant(self, name: str, *, service: str, app: str, api: bool = False) -> None:
        queue = self.sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        queue_arn = f"arn:aws:sqs:{self.region}:{ACCOUNT}:{name}-dlq"
        _once(self.sm.create_secret, Name=f"{name}/db", SecretString="not-a-real-secret")
        secret = self.sm.describe_secret(SecretId=f"{name}/db")
        self.sm.rotate_secret(
            SecretId=secret["ARN"],
            RotationRules={"AutomaticallyAfterDays": 30},
            RotateImmediately=False,
        )
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{self.log_arn_prefix}:log-group:/aws/lambda/{name}:*",
                },
                {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": queue_arn},
                {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": self.cmk},
                {
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue"],
                    "Resource": secret["ARN"],
                },
                {
                    "Effect": "Allow",
                    "Action": [
                        "ec2:CreateNetworkInterface",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DeleteNetworkInterface",
                        "xray:PutTraceSegments",
                        "xray:PutTelemetryRecords",
                    ],
                    "Resource": "*",
                },
            ],
        }
        _once(
            self.iam.create_role,
            RoleName=f"{name}-role",
            AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA),
            PermissionsBoundary=self.boundary_arn,
        )
        role = f"arn:aws:iam::{ACCOUNT}:role/{name}-role"
        self.iam.put_role_policy(
            RoleName=f"{name}-role", PolicyName="app", PolicyDocument=json.dumps(policy)
        )
        if self.aws_managed:
            # Explicit X-Ray writes and reads on "*" (where X-Ray needs it): still least privilege.
            self.iam.attach_role_policy(RoleName=f"{name}-role", PolicyArn=AWS_XRAY_POLICY)
        log_group = f"/aws/lambda/{name}"
        _once(self.logs.create_log_group, logGroupName=log_group, kmsKeyId=self.cmk)
        self.logs.put_retention_policy(logGroupName=log_group, retentionInDays=365)
        _once(
            self.lam.create_function,
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": self.code},
            Timeout=30,
            MemorySize=512,
            Architectures=["arm64"],
            Publish=True,
            VpcConfig={"SubnetIds": self.subnets, "SecurityGroupIds": [self.sg]},
            Environment={"Variables": {"TABLE_NAME": f"{name}-table", "LOG_LEVEL": "INFO"}},
            KMSKeyArn=self.cmk,
            TracingConfig={"Mode": "Active"},
            DeadLetterConfig={"TargetArn": queue_arn},
            LoggingConfig={"LogFormat": "JSON", "LogGroup": log_group},
            Layers=[self.insights_layer],
            Tags={**REQUIRED_TAGS, "service": service, "data-classification": "confidential"},
        )
        self.lam.put_function_code_signing_config(
            CodeSigningConfigArn=self.csc_arn, FunctionName=name
        )
        _once(self.lam.create_alias, FunctionName=name, Name="live", FunctionVersion="1")
        self.lam.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=2
        )
        self.lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=50)
        self.lam.put_function_event_invoke_config(  # on the alias, as SAM's AutoPublishAlias
            FunctionName=name,
            Qualifier="live",
            MaximumRetryAttempts=1,
            MaximumEventAgeInSeconds=3600,
            DestinationConfig={"OnFailure": {"Destination": queue_arn}},
        )
        for metric in ("Errors", "Throttles", "Duration", "ConcurrentExecutions"):
            self.cw.put_metric_alarm(
                AlarmName=f"{name}-{metric}",
                Namespace="AWS/Lambda",
                MetricName=metric,
                Dimensions=[{"Name": "FunctionName", "Value": name}],
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=1,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
                AlarmActions=[self.topic_arn],
            )
        self.cw.put_metric_alarm(
            AlarmName=f"{name}-dlq-depth",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": f"{name}-dlq"}],
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=[self.topic_arn],
        )
        del queue
        self._deployment_group(app, name, canary=True)
        if api:
            self._api(name)

    def _deployment_group(self, app: str, name: str, *, canary: bool) -> None:
        if app not in self.apps:
            self.cd.create_application(applicationName=app, computePlatform="Lambda")
            self.apps.add(app)
        kwargs = {}
        if canary:
            kwargs = {
                "autoRollbackConfiguration": {
                    "enabled": True,
                    "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
                },
                "alarmConfiguration": {
                    "enabled": True,
                    "alarms": [{"name": f"{name}-Errors"}],
                },
            }
        _once(
            self.cd.create_deployment_group,
            applicationName=app,
            deploymentGroupName=name,
            deploymentConfigName=(
                "CodeDeployDefault.LambdaCanary10Percent5Minutes"
                if canary
                else "CodeDeployDefault.LambdaAllAtOnce"
            ),
            serviceRoleArn=f"arn:aws:iam::{ACCOUNT}:role/codedeploy",
            deploymentStyle={
                "deploymentType": "BLUE_GREEN",
                "deploymentOption": "WITH_TRAFFIC_CONTROL",
            },
            **kwargs,
        )

    def _api(self, name: str) -> None:
        api = self.apigw.create_rest_api(name=f"{name}-api")["id"]
        root = self.apigw.get_resources(restApiId=api)["items"][0]["id"]
        self.apigw.put_method(
            restApiId=api, resourceId=root, httpMethod="GET", authorizationType="AWS_IAM"
        )
        self.apigw.put_integration(
            restApiId=api,
            resourceId=root,
            httpMethod="GET",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/"
            f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{name}:live/invocations",
        )
        deployment = self.apigw.create_deployment(restApiId=api)["id"]
        self.apigw.create_stage(restApiId=api, stageName="prod", deploymentId=deployment)
        self.apigw.update_stage(
            restApiId=api,
            stageName="prod",
            patchOperations=[
                {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "100"},
                {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "200"},
                {
                    "op": "replace",
                    "path": "/accessLogSettings/destinationArn",
                    "value": f"arn:aws:logs:{self.region}:{ACCOUNT}:log-group:{name}-access",
                },
                {
                    "op": "replace",
                    "path": "/accessLogSettings/format",
                    "value": "$context.requestId",
                },
            ],
        )
        acl = self.waf.create_web_acl(
            Name=f"{name}-acl",
            Scope="REGIONAL",
            DefaultAction={"Allow": {}},
            VisibilityConfig={
                "SampledRequestsEnabled": True,
                "CloudWatchMetricsEnabled": True,
                "MetricName": "acl",
            },
            Rules=[],
        )["Summary"]["ARN"]
        self.waf.associate_web_acl(
            WebACLArn=acl,
            ResourceArn=f"arn:aws:apigateway:{self.region}::/restapis/{api}/stages/prod",
        )
        self.lam.add_permission(
            FunctionName=name,
            StatementId="apigw-invoke",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{self.region}:{ACCOUNT}:{api}/*/GET/",
        )

    # --- non-compliant functions -----------------------------------------------------------
    def legacy(self, name: str, *, with_canary: bool) -> None:
        """Old runtime, no VPC, no DLQ, $LATEST, default settings, secrets in plain sight."""
        role = self.iam.create_role(
            RoleName=f"{name}-role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {
                                "Service": "lambda.amazonaws.com",
                                "AWS": "arn:aws:iam::999988887777:root",
                            },
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        self.iam.put_role_policy(
            RoleName=f"{name}-role",
            PolicyName="everything",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": ["s3:*", "iam:PassRole"], "Resource": "*"}
                    ],
                }
            ),
        )
        env = {"DB_HOST": "db.internal"}
        if with_canary:
            env["DB_PASSWORD"] = CANARY_SECRET
        _once(
            self.lam.create_function,
            FunctionName=name,
            Runtime="python3.8",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": self.code},
            Environment={"Variables": env},
            VpcConfig={"SubnetIds": [self.single_az_subnet], "SecurityGroupIds": [self.open_sg]},
            Layers=[self.untrusted_layer],
            Tags={"owner": "someone"},
        )
        _once(self.logs.create_log_group, logGroupName=f"/aws/lambda/{name}")
        self.sh.batch_import_findings(
            Findings=[
                {
                    "SchemaVersion": "2018-10-08",
                    "Id": f"finding-{name}",
                    "ProductArn": (
                        f"arn:aws:securityhub:{self.region}:{ACCOUNT}:product/{ACCOUNT}/default"
                    ),
                    "GeneratorId": "prr-emulator",
                    "AwsAccountId": ACCOUNT,
                    "Types": ["Software and Configuration Checks"],
                    "CreatedAt": "2026-01-01T00:00:00Z",
                    "UpdatedAt": "2026-01-01T00:00:00Z",
                    "Severity": {"Label": "HIGH"},
                    "Title": "Lambda function uses a deprecated runtime",
                    "Description": "Deprecated runtime.",
                    "Resources": [
                        {
                            "Type": "AwsLambdaFunction",
                            "Id": f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{name}",
                        }
                    ],
                    "RecordState": "ACTIVE",
                    "Workflow": {"Status": "NEW"},
                }
            ]
        )

    def public(self, name: str, *, app: str) -> None:
        """A function URL without auth, an admin role shared with nobody, all-at-once deploys."""
        role = self.iam.create_role(
            RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA)
        )["Role"]["Arn"]
        admin = AWS_ADMIN_POLICY
        if not self.aws_managed:
            # moto does not load AWS managed policies by default: an account copy of the same name.
            admin = self.iam.create_policy(
                PolicyName="AdministratorAccess",
                PolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                    }
                ),
            )["Policy"]["Arn"]
        self.iam.attach_role_policy(RoleName=f"{name}-role", PolicyArn=admin)
        _once(
            self.lam.create_function,
            FunctionName=name,
            Runtime="nodejs20.x",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": self.code},
            Timeout=10,
            MemorySize=256,
            Publish=True,
            TracingConfig={"Mode": "PassThrough"},
            Tags={**REQUIRED_TAGS, "service": "payments", "data-classification": "internal"},
        )
        _once(self.lam.create_alias, FunctionName=name, Name="live", FunctionVersion="$LATEST")
        self.lam.create_function_url_config(FunctionName=name, AuthType="NONE")
        self.lam.add_permission(
            FunctionName=name,
            StatementId="public-url",
            Action="lambda:InvokeFunctionUrl",
            Principal="*",
            FunctionUrlAuthType="NONE",
        )
        self.lam.add_permission(
            FunctionName=name,
            StatementId="s3-any-bucket",
            Action="lambda:InvokeFunction",
            Principal="s3.amazonaws.com",
        )
        self._deployment_group(app, name, canary=False)


def _retrying(make, name: str, attempts: int = 6, **kwargs) -> None:
    """moto answers an occasional HTML 500 under load (botocore cannot parse it, so its own
    retries do not apply). Every step of a function's seeding is idempotent: redo it all."""
    import time

    from botocore.exceptions import ClientError
    from botocore.parsers import ResponseParserError

    for attempt in range(attempts):
        try:
            return make(name, **kwargs)
        except (ResponseParserError, ClientError) as exc:
            status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
            if attempt == attempts - 1 or (isinstance(exc, ClientError) and (status or 0) < 500):
                raise
            time.sleep(0.2 * 2**attempt)
    return None


def seed(
    endpoint_url: str,
    *,
    functions: int = 0,
    prefix: str = "bench-",
    demo: bool = True,
    region: str = REGION,
    threads: int = 2,
) -> dict:
    """Create the demo functions (``demo``) and ``functions`` compliant ones named
    ``<prefix>NNNN``. Returns what was created."""
    s = Seeder(endpoint_url, region)
    s.base()
    created = []
    if demo:
        s.compliant("payments-api", service="payments-api", app="payments-app", api=True)
        s.legacy("payments-legacy", with_canary=True)
        s.public("payments-public", app="payments-app")
        s.compliant("loans-engine", service="loan-engine", app="loans-app")
        s.legacy("loans-batch", with_canary=False)
        created += [
            "payments-api",
            "payments-legacy",
            "payments-public",
            "loans-engine",
            "loans-batch",
        ]
        import urllib.request

        req = urllib.request.Request(  # noqa: S310 - the local emulator
            f"{endpoint_url.rstrip('/')}/_prr/compliance",
            data=json.dumps(
                {
                    "region": region,
                    "functions": {"payments-api": "COMPLIANT", "payments-legacy": "NON_COMPLIANT"},
                }
            ).encode(),
            method="POST",
        )
        # On a plain moto server (no /_prr endpoints) Config compliance stays empty.
        with contextlib.suppress(OSError):
            urllib.request.urlopen(req, timeout=10).read()  # noqa: S310
    names = [f"{prefix}{i:04d}" for i in range(functions)]
    app = f"{prefix}app"
    if names:
        s.cd.create_application(applicationName=app, computePlatform="Lambda")
        s.apps.add(app)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(
            pool.map(
                lambda n: _retrying(s.compliant, n, service=prefix.rstrip("-"), app=app), names
            )
        )
    return {"functions": created + names, "region": region, "account_id": ACCOUNT}
