# Sunomi agents on every CPU node: a system job, one agent per eligible client.
#
#   nomad job run \
#     -var 'agent_url=https://releases.example.internal/sunomi/v0.4.0/agent' \
#     -var 'coordinator_gossip=["10.0.0.1:7002","10.0.0.2:7002","10.0.0.3:7002"]' \
#     -var 'slots=4' \
#     agent-cpu.nomad.hcl
#
# GPU nodes (client meta sunomi_gpu = "true") are left to agent-gpu.nomad.hcl. The agent needs
# the FFmpeg shared libraries it was built against on every node, and its certificate in the host
# volume "sunomi-tls", the farm's CA and gossip key (tls_ca, gossip_key) in the Nomad Variable at var.secrets_path; see README.md beside this file.

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

variable "agent_url" {
  type        = string
  description = "URL of the agent binary, fetched by the artifact block. Append ?checksum=sha256:HEX to have it verified."
}

variable "coordinator_gossip" {
  type        = list(string)
  description = "Gossip addresses (IP:7002) of the coordinators; the agent finds the coordinators' APIs through the gossip pool."
}

variable "secrets_path" {
  type        = string
  default     = "nomad/jobs/sunomi-agent-cpu"
  description = "Nomad Variable holding tls_ca (the farm's ca.pem) and gossip_key, the same values as the coordinators'."
}

variable "task_user" {
  type        = string
  default     = "sunomi"
  description = "Unix user the agent runs as; it must exist on the nodes."
}

variable "slots" {
  type        = number
  default     = 2
  description = "Tasks an agent runs at once (--slots). About one per four cores; each task is an x264 encode."
}

variable "encoder" {
  type        = string
  default     = "auto"
  description = "--encoder: auto (every H.264 encoder that opens here) or a list such as libx264."
}

variable "memory_limit" {
  type        = string
  default     = "6GiB"
  description = "--memory-limit: address-space limit of each task process (larger than the memory actually used)."
}

variable "drain_timeout" {
  type        = string
  default     = "5m"
  description = "--drain-timeout: how long SIGTERM lets running tasks finish. Keep kill_timeout above it."
}

variable "kill_timeout" {
  type        = string
  default     = "6m"
  description = "How long Nomad waits after SIGTERM before SIGKILL: drain_timeout plus a margin to hand queued work back and leave the pool. The clients' max_kill_timeout must be at least this."
}

variable "gossip_port" {
  type    = number
  default = 7946
}

variable "cpu" {
  type        = number
  default     = 8000
  description = "CPU reservation in MHz; size it to slots."
}

variable "memory" {
  type        = number
  default     = 6144
  description = "Memory reservation in MiB (the exec driver enforces it); size it to slots."
}

variable "memory_max" {
  type        = number
  default     = 0
  description = "Memory ceiling in MiB (at least memory) where the cluster enables memory oversubscription; 0: none."
}

variable "disk" {
  type        = number
  default     = 20480
  description = "Ephemeral disk in MiB for chunk inputs and outputs while they are encoded and uploaded."
}

variable "log_level" {
  type    = string
  default = "info"
}

job "sunomi-agent-cpu" {
  type        = "system"
  datacenters = var.datacenters

  # Each agent drains for up to drain_timeout when replaced; replace a couple at a time.
  update {
    max_parallel = 2
    stagger      = "30s"
  }

  # Not on GPU nodes: those run agent-gpu.nomad.hcl. Set client meta sunomi_gpu = "true" there
  # (a node without the key passes this constraint).
  constraint {
    attribute = "${meta.sunomi_gpu}"
    operator  = "!="
    value     = "true"
  }

  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }

  group "agent" {
    # This host's certificate and key, NODE.pem and NODE-key.pem where NODE is the Nomad node
    # name (--node-id), made by `sunomi tls cert create --role agent --name NODE`. They live on the
    # host, not in a Nomad Variable: every allocation of a job can read the job's Variables, and
    # one node holding another's key could act as it.
    volume "tls" {
      type      = "host"
      source    = "sunomi-tls"
      read_only = true
    }

    network {
      mode = "host"

      port "gossip" {
        static = var.gossip_port
      }

      # Prometheus scrapes the agent here (--metrics-addr).
      port "metrics" {}
    }

    service {
      name     = "sunomi-agent-metrics"
      port     = "metrics"
      provider = "nomad"
      tags     = ["metrics"]
    }

    ephemeral_disk {
      size = var.disk
    }

    restart {
      attempts = 10
      interval = "30m"
      delay    = "15s"
      mode     = "delay"
    }

    task "agent" {
      driver = "exec"
      user   = var.task_user

      artifact {
        source      = var.agent_url
        destination = "local/agent"
        mode        = "file"
      }

      volume_mount {
        volume      = "tls"
        destination = "/etc/sunomi/tls"
        read_only   = true
      }

      config {
        command = "local/agent"
        args = [
          "--node-id", "${node.unique.name}",
          "--data-dir", "${NOMAD_ALLOC_DIR}/data/agent",
          "--join", join(",", var.coordinator_gossip),
          "--gossip-addr", "${NOMAD_ADDR_gossip}",
          "--tls-ca", "${NOMAD_SECRETS_DIR}/ca.pem",
          "--tls-cert", "/etc/sunomi/tls/${node.unique.name}.pem",
          "--tls-key", "/etc/sunomi/tls/${node.unique.name}-key.pem",
          "--metrics-addr", "${NOMAD_ADDR_metrics}",
          "--slots", "${var.slots}",
          "--encoder", var.encoder,
          "--memory-limit", var.memory_limit,
          "--drain-timeout", var.drain_timeout,
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

      template {
        destination = "secrets/sunomi.env"
        env         = true
        change_mode = "restart"
        splay       = "5m"
        data        = <<-EOT
          {{- with nomadVar "${var.secrets_path}" }}
          SUNOMI_GOSSIP_KEY={{ .gossip_key }}
          {{- end }}
        EOT
      }

      # SIGTERM drains: no new leases, queued work handed back, running tasks finish (up to
      # drain_timeout), then the agent leaves the gossip pool and exits.
      kill_signal  = "SIGTERM"
      kill_timeout = var.kill_timeout

      resources {
        cpu        = var.cpu
        memory     = var.memory
        memory_max = var.memory_max
      }
    }
  }
}
