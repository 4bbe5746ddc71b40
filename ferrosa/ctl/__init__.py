"""ferrosa/ctl"""
