"""``irsa verify``: check the IRSA trust chain the way STS does.

Modules: ``checks`` (one function per link, and the ``CHECKS`` order table),
``chain`` (inputs, findings, running the table), ``fetch`` (HTTPS as STS
fetches), ``trust`` (trust-policy evaluation), ``token`` (reading and
requesting tokens), ``aws`` (clients), ``command`` (flags and report).
Nothing here knows Pulumi.
"""
