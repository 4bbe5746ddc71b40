"""ferrosa/coordinator"""
