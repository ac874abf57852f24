"""gankit.nn"""
