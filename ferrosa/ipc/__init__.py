"""ferrosa/ipc"""
