# Sunomi's public API: two stateless instances behind service discovery.
#
# The api binary arrives in a later issue; this job is written for its planned interface:
# `api --http-addr HOST:PORT`, with DATABASE_URL (PostgreSQL 15+), SUNOMI_COORDINATOR (the
# coordinators' URLs) and SUNOMI_TOKEN in the environment, and GET /healthz on the HTTP port.
# Adjust the args once the binary exists.
#
#   nomad job run \
#     -var 'api_url=https://releases.example.internal/sunomi/v0.5.0/api' \
#     -var 'coordinator_urls=["http://10.0.0.1:7000","http://10.0.0.2:7000","http://10.0.0.3:7000"]' \
#     api.nomad.hcl
#
# DATABASE_URL and the token come from the Nomad Variable at var.secrets_path; see README.md.

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

variable "api_url" {
  type        = string
  description = "URL of the api binary, fetched by the artifact block. Append ?checksum=sha256:HEX to have it verified."
}

variable "coordinator_urls" {
  type        = list(string)
  description = "HTTP URLs of the coordinators (any of them answers; writes are forwarded to the leader)."
}

variable "secrets_path" {
  type        = string
  default     = "nomad/jobs/sunomi-api"
  description = "Nomad Variable holding database_url and token."
}

variable "service_provider" {
  type        = string
  default     = "nomad"
  description = "nomad (built in, Nomad 1.4+) or consul."
}

variable "task_user" {
  type    = string
  default = "sunomi"
}

variable "cpu" {
  type    = number
  default = 500
}

variable "memory" {
  type    = number
  default = 512
}

job "sunomi-api" {
  type        = "service"
  datacenters = var.datacenters

  # Stateless: start a canary, promote it once healthy, then replace the rest one by one.
  update {
    max_parallel      = 1
    canary            = 1
    auto_promote      = true
    auto_revert       = true
    health_check      = "checks"
    min_healthy_time  = "10s"
    healthy_deadline  = "3m"
    progress_deadline = "10m"
  }

  group "api" {
    # Two instances; `nomad job scale sunomi-api api N` changes it at run time.
    count = 2

    # Keep the instances on different hosts where there are enough of them.
    spread {
      attribute = "${node.unique.id}"
    }

    network {
      mode = "host"

      # Dynamic: a load balancer finds the instances through the service registration.
      port "http" {}
    }

    restart {
      attempts = 3
      interval = "5m"
      delay    = "10s"
      mode     = "delay"
    }

    reschedule {
      delay          = "30s"
      delay_function = "exponential"
      max_delay      = "10m"
      unlimited      = true
    }

    service {
      name     = "sunomi-api"
      port     = "http"
      provider = var.service_provider
      tags     = ["http", "metrics"]

      check {
        name     = "healthz"
        type     = "http"
        path     = "/healthz"
        interval = "10s"
        timeout  = "2s"

        check_restart {
          limit = 3
          grace = "30s"
        }
      }
    }

    task "api" {
      driver = "exec"
      user   = var.task_user

      artifact {
        source      = var.api_url
        destination = "local/api"
        mode        = "file"
      }

      config {
        command = "local/api"
        args    = ["--http-addr", "${NOMAD_ADDR_http}"]
      }

      env {
        SUNOMI_COORDINATOR = join(",", var.coordinator_urls)
      }

      template {
        destination = "secrets/api.env"
        env         = true
        change_mode = "restart"
        splay       = "30s"
        data        = <<-EOT
          {{- with nomadVar "${var.secrets_path}" }}
          DATABASE_URL={{ .database_url }}
          SUNOMI_TOKEN={{ .token }}
          {{- end }}
        EOT
      }

      # Deregister first so that the load balancer stops sending requests, then stop.
      shutdown_delay = "5s"
      kill_signal    = "SIGTERM"
      kill_timeout   = "30s"

      resources {
        cpu    = var.cpu
        memory = var.memory
      }
    }
  }
}
