"""Plain-dict facts for check unit tests: a compliant function, modified per case."""

import copy

ACCOUNT = "123456789012"
ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:payments-api"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/payments-api-role"
CMK = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1111"
DLQ = f"arn:aws:sqs:us-east-1:{ACCOUNT}:payments-api-dlq"

COMPLIANT = {
    "account_id": ACCOUNT,
    "region": "us-east-1",
    "function": {
        "name": "payments-api",
        "arn": ARN,
        "runtime": "python3.12",
        "package_type": "Zip",
        "handler": "app.handler",
        "timeout": 30,
        "memory_size": 512,
        "architectures": ["arm64"],
        "role": ROLE,
        "kms_key_arn": CMK,
        "tracing_mode": "Active",
        "layers": ["arn:aws:lambda:us-east-1:580247275435:layer:LambdaInsightsExtension:20"],
        "log_format": "JSON",
        "log_group": "/aws/lambda/payments-api",
        "dead_letter_target": DLQ,
        "env_var_names": ["TABLE_NAME"],
        "env_var_digests": {"TABLE_NAME": "ab"},
        "env_secret_like": {},
        "vpc_id": "vpc-1",
        "subnet_ids": ["subnet-a", "subnet-b"],
        "security_group_ids": ["sg-1"],
        "signing_profile_version_arn": "arn:aws:signer:us-east-1:1:/signing-profiles/p/1",
        "signing_job_arn": "arn:aws:signer:us-east-1:1:/signing-jobs/j",
        "code_sha256": "x",
        "last_modified": "2026-01-01",
        "revision_id": "r1",
    },
    "code_signing": {
        "arn": "arn:csc",
        "untrusted_artifact_on_deployment": "Enforce",
        "allowed_publishers": ["arn:aws:signer:us-east-1:1:/signing-profiles/p/1"],
    },
    "event_source_mappings": [
        {
            "uuid": "u",
            "event_source_arn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/s",
            "state": "Enabled",
            "on_failure_destination": DLQ,
            "function_response_types": ["ReportBatchItemFailures"],
            "maximum_retry_attempts": 3,
            "maximum_record_age": 86400,
            "bisect_on_error": True,
            "starting_position": "LATEST",
        }
    ],
    "alarms": [
        {
            "name": f"payments-api-{m}",
            "namespace": "AWS/Lambda",
            "metric": m,
            "dimensions": {"FunctionName": "payments-api"},
            "actions_enabled": True,
            "has_actions": True,
        }
        for m in ("Errors", "Throttles", "Duration", "ConcurrentExecutions")
    ],
    "log_group": {"name": "/aws/lambda/payments-api", "retention_days": 365, "kms_key_id": CMK},
    "role": {
        "arn": ROLE,
        "name": "payments-api-role",
        "trust_policy": {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ]
        },
        "permission_boundary_arn": f"arn:aws:iam::{ACCOUNT}:policy/boundary",
        "inline_policies": [
            {
                "name": "app",
                "document": {
                    "Statement": [
                        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": DLQ},
                        {
                            "Effect": "Allow",
                            "Action": ["xray:PutTraceSegments", "ec2:DescribeNetworkInterfaces"],
                            "Resource": "*",
                        },
                    ]
                },
            }
        ],
        "attached_policies": [],
        "used_by": ["payments-api"],
    },
    "kms_keys": {
        CMK: {"arn": CMK, "manager": "CUSTOMER", "state": "Enabled", "rotation_enabled": True}
    },
    "kms_unavailable": {},
    "subnets": [{"id": "subnet-a", "az": "us-east-1a"}, {"id": "subnet-b", "az": "us-east-1b"}],
    "security_groups": [
        {
            "id": "sg-1",
            "name": "app",
            "egress": [
                {"protocol": "tcp", "from_port": 443, "to_port": 443, "cidrs": ["0.0.0.0/0"]}
            ],
        }
    ],
    "deployment_group": {
        "application": "app",
        "name": "payments-api",
        "deployment_config": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
        "traffic_routing": "TimeBasedCanary",
        "auto_rollback_enabled": True,
        "auto_rollback_events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
        "alarms_enabled": True,
        "alarms": ["payments-api-Errors"],
    },
    "secrets": [
        {
            "arn": "arn:secret",
            "name": "payments-api/db",
            "rotation_enabled": True,
            "rotation_days": 30.0,
            "last_rotated": "2026-11-10",
        }
    ],
    "config_compliance": "COMPLIANT",
    "security_hub_findings": [],
    "reserved_concurrency": 50,
    "tags": {
        "owner": "a@example.com",
        "service": "payments-api",
        "data-classification": "confidential",
        "cost-center": "cc-1",
    },
    "aliases": [{"name": "live", "version": "3", "routing": {}}],
    "provisioned_concurrency": [
        {"qualifier": "live", "requested": 2, "allocated": 2, "status": "READY"}
    ],
    "invoke_config": {
        "maximum_retry_attempts": 1,
        "maximum_event_age_seconds": 3600,
        "on_failure_destination": DLQ,
        "on_success_destination": "",
    },
    "policy": {
        "Statement": [
            {
                "Sid": "apigw",
                "Effect": "Allow",
                "Principal": {"Service": "apigateway.amazonaws.com"},
                "Action": "lambda:InvokeFunction",
                "Resource": ARN,
                "Condition": {
                    "ArnLike": {
                        "AWS:SourceArn": f"arn:aws:execute-api:us-east-1:{ACCOUNT}:abc/*/GET/"
                    }
                },
            },
            {
                "Sid": "url",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "lambda:InvokeFunctionUrl",
                "Resource": ARN,
                "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}},
            },
        ]
    },
    "api_stages": [
        {
            "api_id": "abc",
            "stage": "prod",
            "throttling_rate_limit": 100.0,
            "throttling_burst_limit": 200,
            "web_acl_arn": "arn:waf",
            "access_log_destination": "arn:logs",
        }
    ],
    "dlq_alarms": {DLQ: ["payments-api-dlq-depth"]},
    "unavailable": {},
}


def compliant(**changes):
    """A deep copy of the compliant facts; ``changes`` use dotted keys (function.timeout=3)."""
    facts = copy.deepcopy(COMPLIANT)
    for dotted, value in changes.items():
        node = facts
        *path, last = dotted.split("__")
        for key in path:
            node = node[key]
        node[last] = value
    return facts
