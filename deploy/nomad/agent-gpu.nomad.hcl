# Sunomi agents on GPU nodes: one per node that offers an NVIDIA GPU, with --encoder auto so the
# agent offers h264_nvenc (and libx264) whenever NVENC opens there.
#
#   nomad job run \
#     -var 'agent_url=https://releases.example.internal/sunomi/v0.4.0/agent' \
#     -var 'coordinator_gossip=["10.0.0.1:7002","10.0.0.2:7002","10.0.0.3:7002"]' \
#     agent-gpu.nomad.hcl
#
# Needs the nomad-device-nvidia plugin on those clients (it fingerprints "nvidia/gpu"), the
# NVIDIA driver (libcuda, libnvidia-encode) and the FFmpeg shared libraries on the host, the
# raw_exec driver enabled, client meta sunomi_gpu = "true" (keeps agent-cpu off these nodes), and
# this host's agent certificate in /etc/sunomi/tls, and the farm's CA and gossip key (tls_ca,
# gossip_key) in the Nomad Variable at var.secrets_path; see README.md.

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
  description = "Gossip addresses (IP:7002) of the coordinators."
}

variable "secrets_path" {
  type        = string
  default     = "nomad/jobs/sunomi-agent-gpu"
  description = "Nomad Variable holding tls_ca (the farm's ca.pem) and gossip_key, the same values as the coordinators'."
}

variable "slots" {
  type        = number
  default     = 3
  description = "Tasks at once (--slots). Consumer GeForce cards cap concurrent NVENC sessions; stay below the cap."
}

variable "memory_limit" {
  type        = string
  default     = "6GiB"
  description = "--memory-limit per libx264 task process (address space); the agent runs NVENC tasks without it."
}

variable "drain_timeout" {
  type    = string
  default = "5m"
}

variable "kill_timeout" {
  type        = string
  default     = "6m"
  description = "Above drain_timeout; the clients' max_kill_timeout must be at least this."
}

variable "gossip_port" {
  type    = number
  default = 7946
}

variable "cpu" {
  type    = number
  default = 4000
}

variable "memory" {
  type    = number
  default = 6144
}

variable "disk" {
  type    = number
  default = 20480
}

variable "log_level" {
  type    = string
  default = "info"
}

job "sunomi-agent-gpu" {
  # A system job places one agent on every client that satisfies the device block below, and
  # on each new GPU node as it joins.
  type        = "system"
  datacenters = var.datacenters

  update {
    max_parallel = 1
    stagger      = "30s"
  }

  constraint {
    attribute = "${attr.kernel.name}"
    value     = "linux"
  }

  group "agent" {
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
      # raw_exec, not exec: exec's isolated /dev has no /dev/nvidia* nodes, and the NVIDIA
      # device plugin only exports NVIDIA_VISIBLE_DEVICES (meant for the NVIDIA container
      # runtime). The agent runs as the Nomad client's user here.
      driver = "raw_exec"

      artifact {
        source      = var.agent_url
        destination = "local/agent"
        mode        = "file"
      }

      # raw_exec runs on the host's file system: the certificate and key are read from the host's
      # /etc/sunomi/tls (NODE.pem, NODE-key.pem, NODE the Nomad node name; made by `sunomi tls
      # cert create --role agent --name NODE`, readable by the task user only).
      config {
        command = "local/agent"
        args = [
          "--node-id", "${node.unique.name}-gpu",
          "--data-dir", "${NOMAD_ALLOC_DIR}/data/agent",
          "--join", join(",", var.coordinator_gossip),
          "--gossip-addr", "${NOMAD_ADDR_gossip}",
          "--tls-ca", "${NOMAD_SECRETS_DIR}/ca.pem",
          "--tls-cert", "/etc/sunomi/tls/${node.unique.name}.pem",
          "--tls-key", "/etc/sunomi/tls/${node.unique.name}-key.pem",
          "--metrics-addr", "${NOMAD_ADDR_metrics}",
          "--slots", "${var.slots}",
          "--encoder", "auto",
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

      # SIGTERM drains (see agent-cpu.nomad.hcl).
      kill_signal  = "SIGTERM"
      kill_timeout = var.kill_timeout

      resources {
        cpu    = var.cpu
        memory = var.memory

        # Only nodes with an NVIDIA GPU are feasible. CUDA picks its first visible device, so
        # on a node with several GPUs this agent encodes on GPU 0 whichever one Nomad reserved;
        # use one GPU per node, or hide the others with the plugin's ignored_gpu_ids.
        device "nvidia/gpu" {
          count = 1
        }
      }
    }
  }
}
