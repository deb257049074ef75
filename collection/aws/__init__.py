"""Everything that talks to AWS (boto3 lives only in this package).

``clients``: cached session and client factory; ``ratelimit``: shared token buckets;
``redaction``: the boundary that strips Lambda environment values; ``collect``: small functions
that return plain data; ``errors``: AWS faults in plain words.
"""
