"""Bulwark's local AWS: moto in server mode, with the fixes and extensions Bulwark needs.

This is test infrastructure and the demo's backend. The product never knows it talks to it.
"""
