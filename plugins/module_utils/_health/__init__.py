# -*- coding: utf-8 -*-
# Copyright (c) sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster health engine: plain Kubernetes dicts in, sorted findings out.

Nothing here imports Ansible or a client, so unit tests and benchmarks drive it with
recorded or generated objects.
"""
