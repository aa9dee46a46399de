"""Tests of the host scripts (irsa.apiserver), pure and over real SSH."""
