"""ferrosa/front"""
