"""examples/consumer: another stack builds a role from the irsa stack's outputs."""

import json

import pytest

from conftest import IRSA_STACK_OUTPUTS, ROOT, run_program


@pytest.mark.pulumi_project("irsa-consumer")
def test_consumer_creates_a_role_trusting_the_referenced_issuer(pulumi_mocks):
    config = {"irsa-consumer:irsaStack": "organization/irsa/dev"}
    pulumi_mocks.run(lambda: run_program(config, program=ROOT / "examples" / "consumer" / "__main__.py"))
    reference = pulumi_mocks.one("pulumi:pulumi:StackReference")
    assert reference.name == "organization/irsa/dev"
    role = pulumi_mocks.one("aws:iam/role:Role")
    assert role.inputs["name"] == "k8s_reports_report-writer"
    trust = json.loads(role.inputs["assumeRolePolicy"])
    statement = trust["Statement"][0]
    assert statement["Principal"]["Federated"] == IRSA_STACK_OUTPUTS["oidcProviderArn"]
    prefix = IRSA_STACK_OUTPUTS["issuerUrl"].removeprefix("https://")
    assert statement["Condition"]["StringEquals"] == {
        f"{prefix}:sub": "system:serviceaccount:reports:report-writer",
        f"{prefix}:aud": "sts.amazonaws.com",
    }
    policy = json.loads(pulumi_mocks.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    assert policy["Statement"][0]["Resource"][0] == "arn:aws:s3:::k8s-reports-*"
    assert pulumi_mocks.stack_outputs["roleArn"].value.endswith(":role/k8s_reports_report-writer")
