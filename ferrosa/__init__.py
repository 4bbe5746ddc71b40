"""ferrosa"""
