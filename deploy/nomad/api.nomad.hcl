# Sunomi's public API: two stateless instances behind service discovery.
#
# `api --http HOST:PORT` (cmd/api) with its configuration in the environment: DATABASE_URL
# (PostgreSQL 15+), SUNOMI_COORDINATOR (the coordinators' https URLs), SUNOMI_STORAGE (the same S3 bucket
# as the farm), SUNOMI_PUBLIC_URL (where browsers reach the load balancer), and the secrets below.
# Every instance must share SUNOMI_JWT_KEYS and SUNOMI_MEDIA_SECRET so that any of them accepts
# the tokens and media URLs another one signed. GET /healthz answers on the HTTP port.
#
#   nomad job run \
#     -var 'api_url=https://releases.example.internal/sunomi/v0.5.0/api' \
#     -var 'coordinator_urls=["https://10.0.0.1:7000","https://10.0.0.2:7000","https://10.0.0.3:7000"]' \
#     api.nomad.hcl
#
# The Nomad Variable at var.secrets_path holds database_url, storage, public_url, jwt_keys,
# media_secret, s3_access_key, s3_secret_key, and the farm's CA and the api's client certificate
# (farm_tls_ca, farm_tls_cert, farm_tls_key); see README.md.

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
  description = "HTTPS URLs of the coordinators (any of them answers; writes are forwarded to the leader)."
}

variable "secrets_path" {
  type        = string
  default     = "nomad/jobs/sunomi-api"
  description = "Nomad Variable holding database_url, storage, public_url, jwt_keys, media_secret, the S3 keys and the farm client certificate (farm_tls_ca, farm_tls_cert, farm_tls_key)."
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
      # Prometheus only: the metrics are never served on the public port.
      port "metrics" {}
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
      tags     = ["http"]

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

    service {
      name     = "sunomi-api-metrics"
      port     = "metrics"
      provider = var.service_provider
      tags     = ["metrics"]
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
        args    = ["--http", "${NOMAD_ADDR_http}", "--metrics-addr", "${NOMAD_ADDR_metrics}"]
      }

      env {
        SUNOMI_COORDINATOR = join(",", var.coordinator_urls)
        # The api calls the farm with a client certificate (`sunomi tls cert create --role
        # client --name api`): it may submit and cancel jobs and read the farm, nothing more.
        SUNOMI_FARM_TLS_CA   = "${NOMAD_SECRETS_DIR}/farm-ca.pem"
        SUNOMI_FARM_TLS_CERT = "${NOMAD_SECRETS_DIR}/farm.pem"
        SUNOMI_FARM_TLS_KEY  = "${NOMAD_SECRETS_DIR}/farm-key.pem"
      }

      template {
        destination = "secrets/farm-ca.pem"
        change_mode = "restart"
        data        = <<-EOT
          {{- with nomadVar "${var.secrets_path}" }}{{ .farm_tls_ca }}{{ end }}
        EOT
      }

      template {
        destination = "secrets/farm.pem"
        change_mode = "restart"
        data        = <<-EOT
          {{- with nomadVar "${var.secrets_path}" }}{{ .farm_tls_cert }}{{ end }}
        EOT
      }

      template {
        destination = "secrets/farm-key.pem"
        change_mode = "restart"
        perms       = "0400"
        data        = <<-EOT
          {{- with nomadVar "${var.secrets_path}" }}{{ .farm_tls_key }}{{ end }}
        EOT
      }

      template {
        destination = "secrets/api.env"
        env         = true
        change_mode = "restart"
        splay       = "30s"
        data        = <<-EOT
          {{- with nomadVar "${var.secrets_path}" }}
          DATABASE_URL={{ .database_url }}
          SUNOMI_STORAGE={{ .storage }}
          SUNOMI_PUBLIC_URL={{ .public_url }}
          SUNOMI_JWT_KEYS={{ .jwt_keys }}
          SUNOMI_MEDIA_SECRET={{ .media_secret }}
          AWS_ACCESS_KEY_ID={{ .s3_access_key }}
          AWS_SECRET_ACCESS_KEY={{ .s3_secret_key }}
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
