"""Networking checks."""

from collection.checks.base import check, fail, na, name, ok

OPEN = {"0.0.0.0/0", "::/0"}


@check("lambda.vpc_attached")
def vpc_attached(facts, ctx):
    fn = facts["function"]
    if fn["subnet_ids"]:
        return ok(f"{fn['name']} is attached to VPC {fn['vpc_id'] or '(unknown)'}.")
    if not ctx.profile_says("requires_vpc"):
        return na(f"{fn['name']} is not in a VPC and the service profile does not require one.")
    return fail(f"{fn['name']} is not attached to a VPC.")


@check("lambda.vpc_multi_az", needs=("ec2",))
def vpc_multi_az(facts, ctx):
    fn = facts["function"]
    if not fn["subnet_ids"]:
        return na(f"{fn['name']} is not attached to a VPC.")
    known = {s["id"]: s["az"] for s in facts.get("subnets", [])}
    unknown = [s for s in fn["subnet_ids"] if s not in known]
    if unknown:
        return fail(f"{fn['name']} uses subnets that do not exist: {', '.join(unknown)}.")
    azs = sorted(set(known.values()))
    if len(azs) < 2:
        return fail(f"{fn['name']}'s subnets are all in one Availability Zone ({', '.join(azs)}).")
    return ok(f"{fn['name']}'s subnets span {len(azs)} Availability Zones ({', '.join(azs)}).")


@check("vpc.security_group_egress_restricted", needs=("ec2",))
def security_group_egress_restricted(facts, ctx):
    fn = facts["function"]
    if not fn["subnet_ids"]:
        return na(f"{fn['name']} is not attached to a VPC.")
    groups = facts.get("security_groups", [])
    if not groups:
        return fail(f"{fn['name']}'s security groups could not be found.")
    open_groups = [
        g["id"]
        for g in groups
        for rule in g["egress"]
        if rule["protocol"] == "-1" and OPEN & set(rule["cidrs"])
    ]
    if open_groups:
        return fail(
            f"{fn['name']}: security group(s) {', '.join(sorted(set(open_groups)))} allow all "
            "egress to 0.0.0.0/0."
        )
    return ok(f"{name(facts)}'s security groups restrict egress.")
