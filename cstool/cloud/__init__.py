"""The adapter to a CloudStack cloud: the only package that imports cs."""
