# A single-node MinIO for farms without S3 of their own (optional: any S3-compatible service
# does). The coordinators' --storage then points at it, e.g.
# s3://videos?endpoint=10.0.0.4:9000&secure=false, and the agents fetch and upload through
# presigned URLs on that endpoint, so it must be reachable from every agent at that address.
#
#   nomad job run -var 'minio_url=https://releases.example.internal/minio/minio' minio.nomad.hcl
#
# The host that runs it needs a host volume "minio"; the root credentials come from the Nomad
# Variable at var.secrets_path (root_user, root_password). A single drive has no redundancy:
# back the volume up, or run a distributed MinIO for production.

variable "datacenters" {
  type    = list(string)
  default = ["dc1"]
}

variable "minio_url" {
  type        = string
  description = "URL of the minio server binary. Append ?checksum=sha256:HEX to have it verified."
}

variable "secrets_path" {
  type        = string
  default     = "nomad/jobs/sunomi-minio"
  description = "Nomad Variable holding root_user and root_password."
}

variable "service_provider" {
  type    = string
  default = "nomad"
}

variable "task_user" {
  type        = string
  default     = "sunomi"
  description = "Unix user MinIO runs as; it must own the host volume's directory."
}

job "sunomi-minio" {
  type        = "service"
  datacenters = var.datacenters

  group "minio" {
    count = 1

    network {
      mode = "host"

      port "s3" {
        static = 9000
      }
      port "console" {
        static = 9001
      }
    }

    # Only hosts that define this host volume are feasible.
    volume "data" {
      type      = "host"
      source    = "minio"
      read_only = false
    }

    restart {
      attempts = 5
      interval = "10m"
      delay    = "15s"
      mode     = "delay"
    }

    service {
      name     = "sunomi-minio"
      port     = "s3"
      provider = var.service_provider

      check {
        name     = "live"
        type     = "http"
        path     = "/minio/health/live"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "minio" {
      driver = "exec"
      user   = var.task_user

      artifact {
        source      = var.minio_url
        destination = "local/minio"
        mode        = "file"
      }

      volume_mount {
        volume      = "data"
        destination = "/data"
        read_only   = false
      }

      config {
        command = "local/minio"
        args    = ["server", "/data", "--address", "${NOMAD_ADDR_s3}", "--console-address", "${NOMAD_ADDR_console}"]
      }

      template {
        destination = "secrets/minio.env"
        env         = true
        change_mode = "restart"
        data        = <<-EOT
          {{- with nomadVar "${var.secrets_path}" }}
          MINIO_ROOT_USER={{ .root_user }}
          MINIO_ROOT_PASSWORD={{ .root_password }}
          {{- end }}
        EOT
      }

      kill_signal  = "SIGTERM"
      kill_timeout = "30s"

      resources {
        cpu    = 1000
        memory = 2048
      }
    }
  }
}
