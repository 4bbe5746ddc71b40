"""ferrosa/schema"""
