"""ferrosa/protocol"""
