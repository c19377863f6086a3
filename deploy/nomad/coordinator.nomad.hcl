# Sunomi coordinators: three Raft voters, one per host.
#
#   nomad job run \
#     -var 'coordinator_url=https://releases.example.internal/sunomi/v0.4.0/coordinator' \
#     -var 'coordinator_gossip=["10.0.0.1:7002","10.0.0.2:7002","10.0.0.3:7002"]' \
#     -var 'storage=s3://videos?endpoint=minio.internal:9000&secure=false' \
#     coordinator.nomad.hcl
#
# Each of the three hosts needs a host volume "sunomi-coordinator" (Raft log, stable store and
# snapshots live there, so a restarted coordinator resumes where it stopped), a host volume
# "sunomi-tls" holding its server certificate, and the secrets in the Nomad Variable at
# var.secrets_path; see README.md beside this file.

variable "datacenters" {
  type        = list(string)
  default     = ["dc1"]
  description = "Datacenters the coordinators may run in."
}

variable "coordinator_url" {
  type        = string
  description = "URL of the coordinator binary (linux, the hosts' architecture), fetched by the artifact block. Append ?checksum=sha256:HEX to have it verified."
}

variable "coordinator_gossip" {
  type        = list(string)
  description = "Gossip addresses (IP:7002) of the three coordinator hosts. Every coordinator joins them all; the job only runs on hosts whose IP address is listed here."

  validation {
    condition     = length(var.coordinator_gossip) == 3
    error_message = "The coordinator job runs three voters; list the three hosts' gossip addresses (IP:7002)."
  }
}

variable "storage" {
  type        = string
  description = "Shared object storage for every coordinator: s3://BUCKET?endpoint=HOST:PORT&secure=false&region=…&prefix=… (MinIO or any S3). The bucket is created if it does not exist."
}

variable "secrets_path" {
  type        = string
  default     = "nomad/jobs/sunomi-coordinator"
  description = "Nomad Variable holding tls_ca (the farm's ca.pem), gossip_key, aws_access_key_id and aws_secret_access_key. The default path is readable by this job's tasks without an extra ACL policy."
}

variable "service_provider" {
  type        = string
  default     = "nomad"
  description = "Where the coordinator's service and health check are registered: nomad (built in, Nomad 1.4+) or consul."
}

variable "task_user" {
  type        = string
  default     = "sunomi"
  description = "Unix user the coordinator runs as; it must exist on the hosts and own the host volume's directory."
}

variable "log_level" {
  type    = string
  default = "info"
}

variable "cpu" {
  type        = number
  default     = 1000
  description = "CPU reservation in MHz."
}

variable "memory" {
  type        = number
  default     = 1024
  description = "Memory reservation in MiB."
}

job "sunomi-coordinator" {
  type        = "service"
  datacenters = var.datacenters

  # Raft tolerates one voter down out of three: never take down more than one at a time, and
  # only move on once the replaced one sees a leader again (its /healthz answers 200).
  update {
    max_parallel      = 1
    health_check      = "checks"
    min_healthy_time  = "30s"
    healthy_deadline  = "5m"
    progress_deadline = "10m"
    stagger           = "30s"
    auto_revert       = true
  }

  # Node drains move one coordinator at a time as well.
  migrate {
    max_parallel     = 1
    health_check     = "checks"
    min_healthy_time = "30s"
    healthy_deadline = "5m"
  }

  group "coordinator" {
    count = 3

    # One voter per host: a host failure costs one vote, never two.
    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }

    # Only on the hosts named in coordinator_gossip, so that the join list, the static ports and
    # the host volumes all describe the same three machines.
    constraint {
      attribute = "${attr.unique.network.ip-address}"
      operator  = "set_contains_any"
      value     = join(",", [for a in var.coordinator_gossip : split(":", a)[0]])
    }

    network {
      mode = "host"

      port "http" {
        static = 7000
      }
      port "raft" {
        static = 7001
      }
      port "gossip" {
        static = 7002
      }
      # /healthz alone over plain HTTP (--health-addr): Nomad's checks present no client
      # certificate, and the API port requires one.
      port "health" {}
    }

    # This host's certificate and key, NODE.pem and NODE-key.pem where NODE is the Nomad node
    # name (--node-id), made by `sunomi tls cert create --role server --name NODE`. They live on the
    # host, not in a Nomad Variable: every allocation of a job can read the job's Variables, and
    # one node holding another's key could act as it.
    volume "tls" {
      type      = "host"
      source    = "sunomi-tls"
      read_only = true
    }

    volume "data" {
      type      = "host"
      source    = "sunomi-coordinator"
      read_only = false
    }

    # The data lives on this host's volume, so restart in place, patiently; rescheduling can only
    # land on one of the same three hosts anyway.
    restart {
      attempts = 5
      interval = "10m"
      delay    = "15s"
      mode     = "delay"
    }

    reschedule {
      unlimited      = true
      delay          = "30s"
      delay_function = "exponential"
      max_delay      = "5m"
    }

    service {
      name     = "sunomi-coordinator"
      port     = "http"
      provider = var.service_provider
      tags     = ["https", "metrics"]

      # The API port is HTTPS with client certificates required: Prometheus scrapes /metrics
      # with a client certificate of the farm (see README.md).
      meta {
        metrics_path   = "/metrics"
        metrics_scheme = "https"
      }

      # /healthz answers 200 once this node knows a leader, 503 before. No check_restart: while
      # quorum is lost every coordinator answers 503, and restarting them would not bring the
      # missing voter back; process exits are handled by the restart block.
      check {
        name     = "healthz"
        type     = "http"
        port     = "health"
        path     = "/healthz"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "coordinator" {
      driver = "exec"
      user   = var.task_user

      artifact {
        source      = var.coordinator_url
        destination = "local/coordinator"
        mode        = "file"
      }

      volume_mount {
        volume      = "tls"
        destination = "/etc/sunomi/tls"
        read_only   = true
      }

      volume_mount {
        volume      = "data"
        destination = "/var/lib/sunomi"
        read_only   = false
      }

      config {
        command = "local/coordinator"
        args = [
          "--node-id", "${node.unique.name}",
          "--data-dir", "/var/lib/sunomi",
          "--http-addr", "${NOMAD_ADDR_http}",
          "--raft-addr", "${NOMAD_ADDR_raft}",
          "--gossip-addr", "${NOMAD_ADDR_gossip}",
          "--health-addr", "${NOMAD_ADDR_health}",
          "--tls-ca", "${NOMAD_SECRETS_DIR}/ca.pem",
          "--tls-cert", "/etc/sunomi/tls/${node.unique.name}.pem",
          "--tls-key", "/etc/sunomi/tls/${node.unique.name}-key.pem",
          "--join", join(",", var.coordinator_gossip),
          "--bootstrap-expect", "3",
          "--storage", var.storage,
          "--log-level", var.log_level,
        ]
      }

      # The farm's CA (tls_ca in the Nomad Variable: ca.pem, or during a CA rotation the old and
      # the new CA one after the other). SIGHUP makes the process re-read it and its own
      # certificate without dropping work; rewrite the host's certificate files, then
      # `nomad alloc signal -s SIGHUP ALLOC` for a certificate rotation.
      template {
        destination   = "secrets/ca.pem"
        change_mode   = "signal"
        change_signal = "SIGHUP"
        data          = <<-EOT
          {{- with nomadVar "${var.secrets_path}" }}{{ .tls_ca }}{{ end }}
        EOT
      }

      # The binaries read SUNOMI_GOSSIP_KEY from the environment, and the S3 backend
      # AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. change_mode = "noop": a rotated secret must reach
      # the coordinators one at a time (nomad alloc restart, one alloc after another), never all
      # three at once.
      template {
        destination = "secrets/sunomi.env"
        env         = true
        change_mode = "noop"
        data        = <<-EOT
          {{- with nomadVar "${var.secrets_path}" }}
          SUNOMI_GOSSIP_KEY={{ .gossip_key }}
          AWS_ACCESS_KEY_ID={{ .aws_access_key_id }}
          AWS_SECRET_ACCESS_KEY={{ .aws_secret_access_key }}
          {{- end }}
        EOT
      }

      # SIGTERM closes Raft and the HTTP server cleanly; the node stays a voter and resumes from
      # its data dir when it comes back.
      kill_signal  = "SIGTERM"
      kill_timeout = "30s"

      resources {
        cpu    = var.cpu
        memory = var.memory
      }
    }
  }
}
