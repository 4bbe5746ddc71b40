"""ferrosa/cql"""
