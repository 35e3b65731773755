# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every finding id k8s_health can report (live checks and the ``src`` audit): id -> the
severities it can have (before ``severity_overrides``), what it means and the general fix.

How each is judged is in docs/k8s_health.md. A unit test reads the engines' sources
(``finding()`` calls and the rule tables) and fails when an id they can emit is missing here.
Warning events get one id per reason of ``events.WARNING_REASONS`` / ``events.INFO_REASONS``
(``event.<reason in snake case>``); any other reason is ``event.other``.
"""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._health.events import OTHER_EVENT, event_id

MODULE = "k8s_health"

_FIX_DESCRIBE = "Describe the object (kubectl describe) and follow the event message; the pod/node findings usually hold the cause."

RULES = {
    # ---- API server and control plane -----------------------------------------------------
    "apiserver.livez_failed": {
        "severities": ("critical",),
        "meaning": "The API server's /livez fails (a named check such as etcd, or the whole endpoint): it may be restarted.",
        "fix": "Read the kube-apiserver logs for the failing check (etcd reachability, post-start hooks).",
    },
    "apiserver.readyz_failed": {
        "severities": ("critical",),
        "meaning": "The API server's /readyz fails: it should not receive traffic.",
        "fix": "Read the kube-apiserver logs for the failing check (etcd reachability, informer sync, post-start hooks).",
    },
    "controlplane.leader_stale": {
        "severities": ("critical",),
        "meaning": "The kube-scheduler or kube-controller-manager leader Lease is not renewed: no working leader.",
        "fix": "Check that component's pods and logs (on managed clusters, the provider's status page).",
    },
    "controlplane.apiserver_lease_stale": {
        "severities": ("warning",),
        "meaning": "An API server instance stopped renewing its identity Lease: an instance went away.",
        "fix": "Check that the remaining API server instances carry the load and why the instance left.",
    },
    "controlplane.componentstatus_unhealthy": {
        "severities": ("info",),
        "meaning": "The legacy componentstatuses API calls a component unhealthy (deprecated since 1.19 and often wrong).",
        "fix": "Confirm with the component's own health endpoint before acting.",
    },
    "apiservice.unavailable": {
        "severities": ("warning",),
        "meaning": "An aggregated API (e.g. metrics.k8s.io) is not Available: discovery is partial.",
        "fix": "Fix the backing Service (e.g. metrics-server), or delete the APIService if unused.",
    },
    "webhook.service_missing": {
        "severities": ("critical", "warning"),
        "meaning": "An admission webhook calls a Service that does not exist: with failurePolicy Fail (critical) the API "
                   "server rejects every request in its scope, with Ignore (warning) they go unchecked after a timeout.",
        "fix": "Restore the Service, or delete the webhook configuration if its controller was uninstalled.",
    },
    "webhook.no_ready_endpoints": {
        "severities": ("critical", "warning"),
        "meaning": "An admission webhook's Service has no ready endpoint or no such port: requests in its scope are "
                   "rejected (Fail, critical) or go unchecked (Ignore, warning).",
        "fix": "Bring the webhook's pods back or fix clientConfig.service.port; delete the configuration if unused.",
    },
    "namespace.stuck_terminating": {
        "severities": ("warning",),
        "meaning": "A namespace has been Terminating for too long; the namespace controller's condition names the cause.",
        "fix": "Fix the cause in evidence (an aggregated API down, finalizers whose controller is gone), then let deletion finish.",
    },
    "csr.pending": {
        "severities": ("warning", "info"),
        "meaning": "A CertificateSigningRequest is neither approved nor denied (warning for kubelet serving/client "
                   "certificates, which then never rotate).",
        "fix": "Approve it after checking the requester (kubectl certificate approve), or run an approver for its signer.",
    },
    "csr.not_issued": {
        "severities": ("warning",),
        "meaning": "An approved CertificateSigningRequest has no certificate: no controller signs for its signerName.",
        "fix": "Run (or fix) the signer for that signerName, or use a signer that exists.",
    },
    "csr.failed": {
        "severities": ("warning",),
        "meaning": "The signer marked a CertificateSigningRequest Failed.",
        "fix": "Read the Failed condition's message, fix the request and submit it again.",
    },
    # ---- nodes ----------------------------------------------------------------------------
    "node.not_ready": {
        "severities": ("critical",),
        "meaning": "A node's Ready condition is False (or missing): pods cannot run there.",
        "fix": "Check the kubelet and container runtime on the node (journalctl -u kubelet); drain it if it does not recover.",
    },
    "node.unreachable": {
        "severities": ("critical",),
        "meaning": "A node stopped reporting (Ready Unknown): its pods' status is stale and counted under it.",
        "fix": "Check the machine, its network and the kubelet.",
    },
    "node.memory_pressure": {
        "severities": ("warning",),
        "meaning": "A node reports MemoryPressure: the kubelet is evicting pods.",
        "fix": "Free memory on the node or move pods away.",
    },
    "node.disk_pressure": {
        "severities": ("warning",),
        "meaning": "A node reports DiskPressure: the kubelet is evicting pods and collecting images.",
        "fix": "Free disk (images, logs, emptyDir) on the node.",
    },
    "node.pid_pressure": {
        "severities": ("warning",),
        "meaning": "A node reports PIDPressure: it is running out of process ids.",
        "fix": "Find the pod forking processes; set pod PID limits.",
    },
    "node.network_unavailable": {
        "severities": ("critical",),
        "meaning": "A node reports NetworkUnavailable: its pod network is not configured.",
        "fix": "Check the CNI plugin / route controller for this node.",
    },
    "node.problem_detected": {
        "severities": ("warning",),
        "meaning": "node-problem-detector reports a problem (kernel deadlock, read-only filesystem, frequent runtime restarts...).",
        "fix": "Inspect the node for the named condition; drain and repair or replace it.",
    },
    "node.agent_not_ready": {
        "severities": ("warning",),
        "meaning": "A cloud node agent reports a subsystem not ready (container runtime, storage, networking, kernel).",
        "fix": "Check the named subsystem on the node with the node agent's logs.",
    },
    "node.condition_unknown": {
        "severities": ("warning",),
        "meaning": "A pressure condition is Unknown while Ready is known: the component that owns it stopped reporting.",
        "fix": "Check the component that sets the condition on the node.",
    },
    "node.maintenance": {
        "severities": ("info",),
        "meaning": "A maintenance condition is True (graceful shutdown, drain, planned maintenance).",
        "fix": "Nothing unless the maintenance is unexpected: expect the node to drain.",
    },
    "node.unknown_condition": {
        "severities": ("info",),
        "meaning": "A node condition of a type whose polarity is unknown: reported, never judged.",
        "fix": "Check what sets this condition (a node agent or problem detector) and whether its status is healthy.",
    },
    "node.cordoned": {
        "severities": ("warning",),
        "meaning": "A node is cordoned (unschedulable): capacity is missing until it is uncordoned.",
        "fix": "Uncordon it when the work on it is done (kubectl uncordon), or remove it.",
    },
    "node.tainted": {
        "severities": ("info",),
        "meaning": "A node carries NoSchedule/NoExecute taints the control plane does not manage.",
        "fix": "Check that the taint is intended and that the pods meant for the node tolerate it.",
    },
    "node.lease_stale": {
        "severities": ("critical",),
        "meaning": "A node's Lease in kube-node-lease is not renewed: the kubelet stopped heartbeating.",
        "fix": "Check the kubelet on the node and its connection to the API server.",
    },
    "node.lease_missing": {
        "severities": ("warning",),
        "meaning": "A node has no Lease in kube-node-lease.",
        "fix": "Check the kubelet's registration and that it can write Leases.",
    },
    # ---- versions -------------------------------------------------------------------------
    "version.kubelet_newer": {
        "severities": ("critical",),
        "meaning": "A kubelet is newer than the (oldest) API server, which the skew policy never allows.",
        "fix": "Upgrade the control plane first, or roll the node back.",
    },
    "version.kubelet_skew": {
        "severities": ("critical",),
        "meaning": "A kubelet is more minors behind the API server than the skew policy allows (3, 2 before 1.25).",
        "fix": "Upgrade the node's kubelet (drain, upgrade, uncordon).",
    },
    "version.kube_proxy_newer": {
        "severities": ("critical",),
        "meaning": "kube-proxy is newer than the API server.",
        "fix": "Roll kube-proxy back to the control plane's version, or upgrade the control plane first.",
    },
    "version.kube_proxy_skew": {
        "severities": ("critical",),
        "meaning": "kube-proxy is more minors behind the API server than the skew policy allows.",
        "fix": "Upgrade the kube-proxy DaemonSet image to a supported version.",
    },
    "version.kube_proxy_kubelet_skew": {
        "severities": ("warning",),
        "meaning": "kube-proxy is more minors away from some kubelets than the skew policy allows.",
        "fix": "Keep kube-proxy within 3 minors (2 before 1.25) of every node's kubelet.",
    },
    "version.control_plane_newer": {
        "severities": ("critical",),
        "meaning": "A controller-manager, scheduler or cloud-controller-manager is newer than the oldest API server.",
        "fix": "Upgrade every kube-apiserver first.",
    },
    "version.control_plane_skew": {
        "severities": ("critical",),
        "meaning": "A controller-manager, scheduler or cloud-controller-manager is more than 1 minor behind the API server.",
        "fix": "Upgrade the component to the API server's minor.",
    },
    "version.apiserver_skew": {
        "severities": ("critical",),
        "meaning": "HA API server instances are more than 1 minor apart.",
        "fix": "Finish the control-plane upgrade: bring every kube-apiserver to the same minor.",
    },
    # ---- pods -----------------------------------------------------------------------------
    "pod.crashloop": {
        "severities": ("critical",),
        "meaning": "A container is in CrashLoopBackOff; the last termination (reason, exit code, signal) is the cause.",
        "fix": "Read the previous container's logs (kubectl logs --previous) and fix the crash.",
    },
    "pod.oomkilled": {
        "severities": ("critical", "warning", "info"),
        "meaning": "A container was killed for memory (critical while crash-looping, warning when recent, info when old).",
        "fix": "Raise the memory limit to the real peak, or fix the leak.",
    },
    "pod.image_pull": {
        "severities": ("critical",),
        "meaning": "A container cannot pull its image (wrong name or tag, registry down, missing pull secret).",
        "fix": "Fix the image reference or the imagePullSecrets, or the registry.",
    },
    "pod.config_error": {
        "severities": ("critical",),
        "meaning": "A container cannot be created: its configuration refers to a missing Secret, ConfigMap or key.",
        "fix": "Create the missing Secret/ConfigMap/key or fix the reference.",
    },
    "pod.container_error": {
        "severities": ("critical",),
        "meaning": "A container failed to start (CreateContainerError, hook errors, RunContainerError).",
        "fix": "Describe the pod and fix the start failure named in the message.",
    },
    "pod.container_waiting": {
        "severities": ("warning",),
        "meaning": "A container has been waiting (ContainerCreating, PodInitializing...) longer than pending_minutes.",
        "fix": "Describe the pod and its events to see why the container does not start.",
    },
    "pod.restarts": {
        "severities": ("warning", "critical"),
        "meaning": "A container restarted restarts_warning times or more (critical from restarts_critical) with a recent exit.",
        "fix": "Read the previous container's logs and fix the cause of the exits.",
    },
    "pod.unschedulable": {
        "severities": ("warning",),
        "meaning": "The scheduler cannot place a pod (its message says which constraint fails on which nodes).",
        "fix": "Relax the pod's requests/affinity/tolerations or add capacity that fits.",
    },
    "pod.scheduling_gated": {
        "severities": ("info",),
        "meaning": "A pod has been held by scheduling gates longer than pending_minutes.",
        "fix": "Check the controller that should remove the gates.",
    },
    "pod.pending": {
        "severities": ("warning",),
        "meaning": "A pod has been Pending longer than pending_minutes with no other explanation.",
        "fix": "Describe the pod and its events.",
    },
    "pod.evicted": {
        "severities": ("warning",),
        "meaning": "A pod was evicted (node pressure or API eviction).",
        "fix": "Fix the node pressure or the pod's requests, then delete the evicted pod.",
    },
    "pod.failed": {
        "severities": ("warning",),
        "meaning": "A pod (not a Job's) is Failed (OutOfcpu, NodeAffinity...).",
        "fix": "Read the reason and message, fix the cause and delete the failed pod.",
    },
    "pod.not_ready": {
        "severities": ("warning",),
        "meaning": "A pod is Running but not Ready for longer than pending_minutes: it receives no Service traffic.",
        "fix": "Check its readiness probe and what the probe depends on.",
    },
    "pod.stuck_terminating": {
        "severities": ("warning",),
        "meaning": "A pod's deletion was requested longer than terminating_minutes ago and it still exists.",
        "fix": "Check finalizers and the node's kubelet; force-delete only when the node is gone.",
    },
    # ---- workloads and cluster objects ----------------------------------------------------
    "workload.unavailable": {
        "severities": ("critical", "warning"),
        "meaning": "A Deployment, StatefulSet or DaemonSet has unavailable replicas (critical when none is available).",
        "fix": "Look at the workload's pods (their findings hold the cause).",
    },
    "workload.rollout_stuck": {
        "severities": ("critical",),
        "meaning": "A Deployment rollout exceeded its progress deadline (ProgressDeadlineExceeded).",
        "fix": "Fix the new ReplicaSet's pods or roll back (kubectl rollout undo).",
    },
    "workload.misscheduled": {
        "severities": ("info",),
        "meaning": "A DaemonSet runs pods on nodes where it should not.",
        "fix": "Check the DaemonSet's node selector/affinity against the nodes' labels and taints.",
    },
    "job.failed": {
        "severities": ("warning",),
        "meaning": "A Job failed (BackoffLimitExceeded, DeadlineExceeded).",
        "fix": "Read the failed pods' logs, fix the cause and run the Job again.",
    },
    "pdb.blocks_disruption": {
        "severities": ("warning",),
        "meaning": "A PodDisruptionBudget allows no disruption (by spec, status or replicas): it blocks every drain of its pods' nodes.",
        "fix": "Allow at least one disruption (maxUnavailable >= 1, or minAvailable below the replicas), or add replicas.",
    },
    "pvc.pending": {
        "severities": ("warning",),
        "meaning": "A PersistentVolumeClaim has been Pending longer than pending_minutes (the evidence says why).",
        "fix": "Fix the StorageClass, provisioner or pre-bound volume named in the message.",
    },
    "pvc.lost": {
        "severities": ("critical",),
        "meaning": "A PersistentVolumeClaim is Lost: its PersistentVolume is gone.",
        "fix": "Restore the volume from backup and recreate the claim.",
    },
    "hpa.at_max_replicas": {
        "severities": ("warning",),
        "meaning": "A HorizontalPodAutoscaler is at its maximum replicas: it cannot scale further with load.",
        "fix": "Raise maxReplicas or make each replica handle more.",
    },
    "hpa.unable_to_scale": {
        "severities": ("warning",),
        "meaning": "A HorizontalPodAutoscaler cannot scale its target (AbleToScale False, e.g. FailedGetScale).",
        "fix": "Fix the scale target reference or the RBAC of the HPA controller, per the condition's message.",
    },
    "hpa.scaling_inactive": {
        "severities": ("warning", "info"),
        "meaning": "A HorizontalPodAutoscaler is not scaling (ScalingActive False, e.g. no metrics); info when scaled to zero on purpose.",
        "fix": "Make the metrics available (metrics-server, custom metrics adapter), per the condition's message.",
    },
    "hpa.scaling_limited": {
        "severities": ("info",),
        "meaning": "A HorizontalPodAutoscaler's scaling is limited by its behavior rules.",
        "fix": "Check the behavior policies if scaling lags behind load.",
    },
    "service.no_matching_pods": {
        "severities": ("warning",),
        "meaning": "A Service's selector matches no running pod: traffic to it fails.",
        "fix": "Fix the selector or the pods' labels, or start the pods.",
    },
    "service.no_ready_endpoints": {
        "severities": ("warning",),
        "meaning": "A Service has endpoints but none is ready (or no EndpointSlice at all): traffic to it fails.",
        "fix": "Fix the pods behind the Service (their readiness and pod findings).",
    },
    # ---- configuration audit (live and src) -----------------------------------------------
    "audit.missing_requests": {
        "severities": ("warning",),
        "meaning": "Containers without CPU or memory requests: scheduling and eviction order are unpredictable.",
        "fix": "Set resources.requests.",
    },
    "audit.missing_memory_limit": {
        "severities": ("warning",),
        "meaning": "Containers without a memory limit: one leak can exhaust the node.",
        "fix": "Set resources.limits.memory.",
    },
    "audit.missing_cpu_limit": {
        "severities": ("info",),
        "meaning": "Containers without a CPU limit (an opinion: many teams leave it unset on purpose).",
        "fix": "Optional: set resources.limits.cpu if bursts must be capped.",
    },
    "audit.missing_readiness_probe": {
        "severities": ("warning",),
        "meaning": "Long-running containers without a readiness probe: Services send traffic before they can serve.",
        "fix": "Add a readinessProbe.",
    },
    "audit.missing_liveness_probe": {
        "severities": ("info",),
        "meaning": "Long-running containers without a liveness probe: a hung process is never restarted.",
        "fix": "Consider a livenessProbe for processes that can hang without exiting.",
    },
    "audit.privileged": {
        "severities": ("critical",),
        "meaning": "Privileged containers (init containers included): full access to the node.",
        "fix": "Drop privileged: true; grant only the specific capabilities needed.",
    },
    "audit.runs_as_root": {
        "severities": ("critical",),
        "meaning": "Containers with runAsUser 0.",
        "fix": "Run as a non-zero UID.",
    },
    "audit.may_run_as_root": {
        "severities": ("warning",),
        "meaning": "Containers with neither runAsNonRoot: true nor runAsUser > 0: they run as root if the image says so.",
        "fix": "Set runAsNonRoot: true (and a non-zero runAsUser) in the pod or container securityContext.",
    },
    "audit.privilege_escalation": {
        "severities": ("warning",),
        "meaning": "Containers that allow privilege escalation (allowPrivilegeEscalation not false).",
        "fix": "Set securityContext.allowPrivilegeEscalation: false.",
    },
    "audit.writable_root_filesystem": {
        "severities": ("info",),
        "meaning": "Containers with a writable root filesystem.",
        "fix": "Set readOnlyRootFilesystem: true and mount emptyDir where writes are needed.",
    },
    "audit.dangerous_capabilities": {
        "severities": ("warning",),
        "meaning": "Containers adding dangerous capabilities (ALL, SYS_ADMIN, NET_ADMIN, SYS_PTRACE...).",
        "fix": "Drop ALL and add back only what is required.",
    },
    "audit.host_namespace": {
        "severities": ("warning",),
        "meaning": "A pod shares the host's network, PID or IPC namespace.",
        "fix": "Remove hostNetwork/hostPID/hostIPC unless this is a node agent that needs them.",
    },
    "audit.no_network_policy": {
        "severities": ("info",),
        "meaning": "A namespace running workloads has no NetworkPolicy: every pod accepts traffic from anywhere.",
        "fix": "Add a default-deny NetworkPolicy and allow what is needed.",
    },
    "audit.no_pdb": {
        "severities": ("info",),
        "meaning": "A Deployment or StatefulSet with 2+ replicas has no PodDisruptionBudget: a drain may take all its pods at once.",
        "fix": "Add a PodDisruptionBudget (e.g. maxUnavailable: 1) selecting its pods.",
    },
    "rbac.cluster_admin": {
        "severities": ("critical", "warning"),
        "meaning": "cluster-admin is granted to non-system subjects (critical cluster-wide, warning in a RoleBinding).",
        "fix": "Replace cluster-admin with a role holding only the permissions the subject needs.",
    },
    "rbac.public_binding": {
        "severities": ("critical",),
        "meaning": "A binding grants a role to system:anonymous, system:unauthenticated or system:authenticated.",
        "fix": "Bind to named users, groups or service accounts instead.",
    },
    "rbac.wildcard": {
        "severities": ("warning",),
        "meaning": "A bound role uses * in verbs, resources or API groups.",
        "fix": "List the verbs, resources and API groups actually needed.",
    },
    "rbac.escalation_verbs": {
        "severities": ("warning",),
        "meaning": "A bound role grants escalate, bind or impersonate.",
        "fix": "Remove them unless the subject administers RBAC.",
    },
    "rbac.secret_read": {
        "severities": ("warning", "info"),
        "meaning": "A bound role can read Secrets (warning cluster-wide, info in one namespace).",
        "fix": "Scope Secret access to a namespaced Role with resourceNames.",
    },
    "rbac.exec": {
        "severities": ("warning",),
        "meaning": "A bound role can exec/attach into pods, proxy to nodes or mint tokens (get on pods/exec counts before 1.35).",
        "fix": "Grant pods/exec, pods/attach, nodes/proxy and serviceaccounts/token only to break-glass roles.",
    },
    "quota.almost_full": {
        "severities": ("info",),
        "meaning": "A ResourceQuota is used at or above quota_warning_percent.",
        "fix": "Raise the quota or free resources before new pods are refused.",
    },
    "quota.exhausted": {
        "severities": ("warning",),
        "meaning": "A ResourceQuota is fully used: new objects of that resource are refused.",
        "fix": "Raise the quota or free resources.",
    },
    "api.deprecated_in_use": {
        "severities": ("warning", "info"),
        "meaning": "Clients request a deprecated API version (warning when it is removed by the next minor).",
        "fix": "Find the caller (audit annotation k8s.io/deprecated) and move it to the current API version.",
    },
    "api.removed_version": {
        "severities": ("critical",),
        "meaning": "A manifest uses an apiVersion the server no longer serves.",
        "fix": "Move the manifest to the current apiVersion of its kind.",
    },
    # ---- Polaris / kube-score counterparts (audit_peers.py) --------------------------------
    "pod.host_path": {
        "severities": ("warning",),
        "meaning": "A pod template mounts a hostPath volume: the pod can read or change the node's files (Polaris hostPathSet; "
                   "forbidden by the baseline Pod Security Standard).",
        "fix": "Use a PersistentVolumeClaim, emptyDir, ConfigMap or CSI volume instead.",
    },
    "pod.host_port": {
        "severities": ("warning",),
        "meaning": "A container binds a hostPort: one such pod per node and port, and some CNIs bypass NetworkPolicies for it "
                   "(Polaris hostPortSet; PSS baseline).",
        "fix": "Expose the port through a Service instead.",
    },
    "pod.automount_token": {
        "severities": ("info",),
        "meaning": "A pod gets a Kubernetes API token mounted (neither the pod nor its ServiceAccount sets "
                   "automountServiceAccountToken: false); Polaris automountServiceAccountToken.",
        "fix": "Set automountServiceAccountToken: false on the pod or its ServiceAccount unless it calls the API.",
    },
    "pod.seccomp": {
        "severities": ("warning", "info"),
        "meaning": "A container runs without a seccomp profile: Unconfined set explicitly (warning, PSS baseline) or no profile at "
                   "all (info, PSS restricted); kube-score container-seccomp-profile, Polaris linuxHardening.",
        "fix": "Set securityContext.seccompProfile.type: RuntimeDefault in the pod.",
    },
    "pod.apparmor": {
        "severities": ("warning",),
        "meaning": "A container runs AppArmor-unconfined (appArmorProfile Unconfined or the beta annotation); PSS baseline.",
        "fix": "Remove the Unconfined profile: the runtime default applies.",
    },
    "pod.selinux": {
        "severities": ("warning",),
        "meaning": "A container sets an SELinux type other than the container types, or a user or role (PSS baseline).",
        "fix": "Leave seLinuxOptions type, user and role to the runtime.",
    },
    "pod.proc_mount": {
        "severities": ("warning",),
        "meaning": "A container unmasks /proc (procMount other than Default); Polaris procMount, PSS baseline.",
        "fix": "Remove securityContext.procMount.",
    },
    "pod.host_process": {
        "severities": ("warning",),
        "meaning": "A Windows HostProcess container has the node's full access (Polaris hostProcess, PSS baseline).",
        "fix": "Run a normal Windows container.",
    },
    "container.capabilities_not_dropped": {
        "severities": ("info",),
        "meaning": "A container keeps the runtime's default capabilities: capabilities.drop has neither ALL nor every insecure one "
                   "(Polaris insecureCapabilities, PSS restricted).",
        "fix": "Set capabilities.drop: [ALL] and add back only what is needed.",
    },
    "image.latest_tag": {
        "severities": ("warning",),
        "meaning": "An image has no tag or :latest and no digest: nodes may run different code and a rollback does not roll back "
                   "(Polaris tagNotSpecified, kube-score container-image-tag).",
        "fix": "Pin a version tag or a digest.",
    },
    "image.pull_policy": {
        "severities": ("info",),
        "meaning": "A pod with imagePullSecrets has containers not pulled Always: a pod without the credentials can start from the "
                   "cached private image (Polaris pullPolicyNotAlways, kube-score container-image-pull-policy, narrowed).",
        "fix": "Set imagePullPolicy: Always or enable the AlwaysPullImages admission plugin.",
    },
    "env.plain_secret": {
        "severities": ("critical", "warning"),
        "meaning": "A container env value holds private key material (critical) or a credential-like variable has a literal value "
                   "(warning); Polaris sensitiveContainerEnvVar.",
        "fix": "Read it from a Secret (valueFrom.secretKeyRef) and rotate what was exposed.",
    },
    "cronjob.no_deadline": {
        "severities": ("warning",),
        "meaning": "A CronJob has no startingDeadlineSeconds: after more than 100 missed schedules it stops starting jobs (kube-score cronjob-has-deadline).",
        "fix": "Set spec.startingDeadlineSeconds.",
    },
    "ingress.no_tls": {
        "severities": ("warning",),
        "meaning": "An Ingress has no spec.tls: it serves plain HTTP (Polaris tlsSettingsMissing).",
        "fix": "Add spec.tls with a certificate Secret.",
    },
    "ingress.missing_service": {
        "severities": ("warning",),
        "meaning": "An Ingress backend names a Service that does not exist in its namespace: those paths answer 503 (kube-score ingress-targets-service).",
        "fix": "Create the Service or fix the backend name.",
    },
    "service.selector_matches_nothing": {
        "severities": ("warning",),
        "meaning": "src: a Service selector matches no pod template in the same namespace of src (kube-score service-targets-pod; "
                   "live the same is service.no_matching_pods).",
        "fix": "Fix the selector or the workload's pod labels.",
    },
    "service.node_port": {
        "severities": ("info",),
        "meaning": "A Service is of type NodePort: the port is open on every node (kube-score service-type).",
        "fix": "Prefer a LoadBalancer or an Ingress.",
    },
    "statefulset.no_headless_service": {
        "severities": ("warning",),
        "meaning": "A StatefulSet's spec.serviceName is unset, names no Service, or a Service that is not headless: its pods get "
                   "no stable DNS names (kube-score statefulset-has-servicename).",
        "fix": "Create a headless Service (clusterIP: None) and name it in spec.serviceName.",
    },
    "hpa.min_equals_max": {
        "severities": ("warning",),
        "meaning": "An HPA's maxReplicas is not above its minReplicas: it can never scale (Polaris hpaMaxAvailability).",
        "fix": "Raise maxReplicas or drop the HPA.",
    },
    "hpa.pdb_conflict": {
        "severities": ("warning",),
        "meaning": "A PDB over an HPA's pods needs at least the HPA's minReplicas available: at the minimum no pod can be evicted "
                   "(Polaris pdbMinAvailableGreaterThanHPAMinReplicas and its siblings).",
        "fix": "Raise minReplicas above minAvailable, or use maxUnavailable in the PDB.",
    },
    "hpa.target_missing": {
        "severities": ("warning",),
        "meaning": "src: an HPA's scaleTargetRef names no workload in src (kube-score horizontalpodautoscaler-has-target; live the "
                   "HPA controller says so: hpa.unable_to_scale).",
        "fix": "Fix scaleTargetRef or add the workload.",
    },
    "hpa.target_sets_replicas": {
        "severities": ("warning",),
        "meaning": "src: a workload an HPA scales also sets spec.replicas: every apply resets the count (kube-score "
                   "deployment-targeted-by-hpa-does-not-have-replicas-configured).",
        "fix": "Remove spec.replicas from the autoscaled workload's manifest.",
    },
    "networkpolicy.pod_not_selected": {
        "severities": ("warning", "info"),
        "meaning": "In a namespace with NetworkPolicies, no policy selects a workload's pods for Ingress (warning: they accept all "
                   "traffic) or only for Egress (info); kube-score pod-networkpolicy, Polaris missingNetworkPolicy.",
        "fix": "Add the pods' labels to a policy's podSelector, or add a default-deny policy with podSelector: {}.",
    },
    "networkpolicy.selects_nothing": {
        "severities": ("warning",),
        "meaning": "A NetworkPolicy's podSelector matches none of its namespace's workloads: it protects nothing, often a label "
                   "typo (kube-score networkpolicy-targets-pod).",
        "fix": "Fix spec.podSelector.",
    },
}

# ---- Warning events ---------------------------------------------------------------------
# reason -> what it means; the id is event.<reason in snake case> (events.event_id).
_BROKEN_EVENTS = {
    "FailedMount": "A volume could not be mounted into a pod.",
    "FailedAttachVolume": "A volume could not be attached to the pod's node.",
    "FailedCreatePodSandBox": "The runtime could not create a pod's sandbox (usually CNI).",
    "FailedCreate": "A controller could not create its pods (quota, admission, RBAC).",
    "FailedScheduling": "The scheduler could not place a pod.",
    "OOMKilling": "The kernel killed a process for memory on a node.",
    "SystemOOM": "A node ran out of memory (system OOM).",
    "Evicted": "The kubelet evicted a pod.",
    "EvictionThresholdMet": "A node reached an eviction threshold.",
    "NodeNotReady": "A node became NotReady.",
    "FailedKillPod": "The kubelet could not kill a pod.",
    "FailedSync": "The kubelet failed to sync a pod.",
    "NetworkNotReady": "A node's network (CNI) is not ready.",
    "ProvisioningFailed": "A volume could not be provisioned for a claim.",
    "BackOff": "A container or image pull is backing off after failures.",
    "Failed": "A container or image operation failed.",
    "Unhealthy": "A liveness, readiness or startup probe failed.",
    "FailedPostStartHook": "A container's postStart hook failed.",
    "FailedPreStopHook": "A container's preStop hook failed.",
    "InspectFailed": "The runtime could not inspect a container image.",
    "ErrImageNeverPull": "An image is missing and imagePullPolicy is Never.",
    "FreeDiskSpaceFailed": "The kubelet could not free disk space by image garbage collection.",
    "ImageGCFailed": "Image garbage collection failed on a node.",
    "ContainerGCFailed": "Container garbage collection failed on a node.",
    "Rebooted": "A node rebooted.",
    "FailedNodeAllocatableEnforcement": "The kubelet could not enforce node allocatable (cgroups).",
    "BackoffLimitExceeded": "A Job exceeded its backoff limit.",
    "DeadlineExceeded": "A Job exceeded its active deadline.",
    "FailedGetResourceMetric": "A HorizontalPodAutoscaler could not read a resource metric.",
    "FailedComputeMetricsReplicas": "A HorizontalPodAutoscaler could not compute replicas from its metrics.",
}
_INFO_EVENTS = {
    "DNSConfigForming": "A pod's DNS configuration exceeds the resolver's limits and was trimmed.",
    "ProbeWarning": "A probe succeeded with a warning (e.g. a redirect).",
    "FailedToUpdateEndpoint": "The endpoints controller could not update an Endpoints object.",
    "FailedToUpdateEndpointSlices": "The EndpointSlice controller could not update a Service's slices.",
    "FailedBinding": "No PersistentVolume is available to bind a claim yet.",
    "ExceededGracePeriod": "A container did not stop within its termination grace period.",
    "InvalidDiskCapacity": "The kubelet read an invalid image filesystem capacity.",
    "FailedGetScale": "A HorizontalPodAutoscaler could not read its target's scale.",
    "FailedRescale": "A HorizontalPodAutoscaler could not rescale its target.",
    "CalculateExpectedPodCountFailed": "The disruption controller could not count a PodDisruptionBudget's pods.",
    "FailedDaemonPod": "A DaemonSet pod failed and is being recreated.",
    "VolumeResizeFailed": "A volume expansion failed.",
    "FailedDetachVolume": "A volume could not be detached from a node.",
    "FailedMapVolume": "A block volume could not be mapped into a pod.",
}


def _event_rules():
    rules = {}
    for severity, table in (("warning", _BROKEN_EVENTS), ("info", _INFO_EVENTS)):
        for reason, meaning in table.items():
            rules[event_id(reason)] = {"severities": (severity,), "meaning": "Warning event %s: %s" % (reason, meaning),
                                       "fix": _FIX_DESCRIBE}
    rules[OTHER_EVENT] = {
        "severities": ("info",),
        "meaning": "A Warning event with a reason the catalogue does not list (the reason is in evidence.reason).",
        "fix": _FIX_DESCRIBE,
    }
    return rules


RULES.update(_event_rules())
