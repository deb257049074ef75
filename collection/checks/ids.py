"""The automated check ids: the contract between the control catalog and the checks.

The catalog (controls/catalog/*.yaml) names one of these ids for each automated control;
``load_catalog`` refuses any other id. Each id is implemented as a pure function over collected
facts in this package (a test asserts that every id has an implementation).
"""

CHECK_IDS: dict[str, str] = {
    # Runtime and configuration
    "lambda.runtime_supported": "Runtime is supported and not deprecated",
    "lambda.runtime_not_deprecating_soon": "Runtime is not within 180 days of deprecation",
    "lambda.timeout_configured": "Timeout set explicitly (not the 3 s default) and at most 900 s",
    "lambda.memory_configured": "Memory set explicitly (not the 128 MB default)",
    "lambda.arm64_architecture": "Function runs on arm64 (Graviton) for cost efficiency",
    "lambda.log_format_json": "LoggingConfig.LogFormat is JSON",
    "lambda.insights_extension": "Lambda Insights extension layer attached",
    "lambda.layers_trusted_accounts": "Layers come from the same account or an allow-listed one",
    "lambda.tags_required": (
        "Required tags present (owner, service, data-classification, cost-center)"
    ),
    # Networking
    "lambda.vpc_attached": "Function is attached to a VPC",
    "lambda.vpc_multi_az": "VPC subnets span at least two Availability Zones",
    "vpc.security_group_egress_restricted": "Security groups do not allow all egress to 0.0.0.0/0",
    # Reliability
    "lambda.dlq_or_destination": "Async invocations have a DLQ or an on-failure destination",
    "lambda.async_retry_configured": "Async retry attempts and max event age are set",
    "lambda.reserved_concurrency": "Reserved concurrency is set",
    "lambda.provisioned_concurrency": "Provisioned concurrency is configured on the live alias",
    "lambda.published_version": "At least one published version exists",
    "lambda.alias_not_latest": "A live alias points to a published version, not $LATEST",
    "esm.failure_destination": "Event source mappings have an on-failure destination",
    "esm.partial_batch_response": "Event source mappings report batch item failures",
    "esm.stream_retry_bounded": "Stream mappings bound retries and bisect on error",
    # Release
    "codedeploy.canary_config": "CodeDeploy deployment group uses a canary or linear config",
    "codedeploy.alarm_rollback": "CodeDeploy rolls back automatically on alarm and failure",
    "lambda.code_signing_enforced": "A code-signing config enforces signature on deploy",
    "lambda.artifact_signed": "The deployed artifact was signed by AWS Signer",
    # Data protection
    "lambda.env_kms_cmk": "Environment variables are encrypted with a customer-managed KMS key",
    "kms.key_rotation_enabled": "The function's customer-managed KMS keys rotate automatically",
    "lambda.env_no_secrets": "No environment variable value looks like a secret",
    "secrets.rotation_enabled": "The service's Secrets Manager secrets rotate automatically",
    # Observability
    "lambda.tracing_active": "X-Ray active tracing is on",
    "cloudwatch.errors_alarm": "An alarm watches the function's Errors metric",
    "cloudwatch.throttles_alarm": "An alarm watches the function's Throttles metric",
    "cloudwatch.duration_alarm": "An alarm watches the function's Duration metric",
    "cloudwatch.concurrency_alarm": "An alarm watches ConcurrentExecutions",
    "cloudwatch.dlq_alarm": "An alarm watches the DLQ depth",
    "logs.retention_set": "The log group has a retention period of at least 90 days",
    "logs.kms_encrypted": "The log group is encrypted with a KMS key",
    # Exposure
    "lambda.policy_not_public": "The resource policy does not allow a public principal",
    "lambda.policy_source_bound": (
        "Service principals in the resource policy are bound to a source ARN or account"
    ),
    "lambda.function_url_auth": "A function URL, if any, requires AWS_IAM auth",
    "apigw.stage_throttling": "API Gateway stages have throttling limits",
    "apigw.waf_associated": "API Gateway stages have a WAF web ACL",
    "apigw.access_logging": "API Gateway stages write access logs",
    # Identity and access (execution role)
    "iam.no_wildcard_actions": "Execution role policies grant no wildcard actions",
    "iam.no_wildcard_resources": "Execution role policies grant no write actions on Resource *",
    "iam.no_admin_policies": "No administrator or power-user managed policy on the execution role",
    "iam.permission_boundary": "The execution role has a permission boundary",
    "iam.role_not_shared": "The execution role is used by this function only",
    "iam.no_passrole_wildcard": "No iam:PassRole on Resource *",
    "iam.trust_lambda_only": "The role's trust policy allows only the Lambda service",
    "iam.no_cross_account_trust": "The role cannot be assumed from another account",
    # Compliance feeds
    "config.rules_compliant": "AWS Config rules report the function COMPLIANT",
    "securityhub.no_critical_findings": (
        "No active CRITICAL/HIGH Security Hub findings for the function"
    ),
}
