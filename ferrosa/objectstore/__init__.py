"""ferrosa/objectstore"""
