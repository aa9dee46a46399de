"""Test-only: the Kubernetes objects of the program under test are not awaited (no kubelet runs).

Put on ``PYTHONPATH`` by the real-engine tests only. Python imports this file
at start-up; it wraps ``runpy.run_path``, which Pulumi's language host calls
inside the stack to run ``__main__.py``, so that a stack transform is
registered first. The transform adds ``pulumi.com/skipAwait: "true"`` to every
Kubernetes object (not to ``…Patch`` resources, which would then own the
annotation): a Deployment's pods never start without a kubelet and a
Namespace is never finalized without a controller manager. The program
itself is unchanged; a user's stack awaits as before.
"""

import runpy

_run_path = runpy.run_path
ANNOTATION = "pulumi.com/skipAwait"


def _skip_await(args):
    import pulumi

    if not args.custom or not args.type_.startswith("kubernetes:") or args.type_.endswith("Patch"):
        return None
    props = dict(args.props)
    metadata = dict(props.get("metadata") or {})
    metadata["annotations"] = {**dict(metadata.get("annotations") or {}), ANNOTATION: "true"}
    props["metadata"] = metadata
    return pulumi.ResourceTransformResult(props, args.opts)


def run_path(path, *args, **kwargs):
    if str(path).endswith("__main__.py") or not str(path).endswith(".py"):
        import pulumi.runtime

        pulumi.runtime.register_resource_transform(_skip_await)
    return _run_path(path, *args, **kwargs)


runpy.run_path = run_path
