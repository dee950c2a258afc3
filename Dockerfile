# Scenario Studio on a CUDA GPU host.
#   docker build -t scenario-studio .
#   docker run --gpus all -p 127.0.0.1:7860:7860 -v /path/to/checkpoints:/models -v studio-data:/data scenario-studio
# Checkpoint folders (diffusers layout, safetensors) are mounted read-only-by-convention at /models.
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip \
 && rm -rf /var/lib/apt/lists/*

RUN python3 -m venv /opt/venv && useradd --create-home --uid 1000 studio
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /app
COPY . /app
# CUDA 12.6 wheels of torch; everything else at the versions of the lock file.
RUN pip install --extra-index-url https://download.pytorch.org/whl/cu126 -c requirements.lock -e . \
 && mkdir -p /models /data && chown studio:studio /data

# The studio never downloads weights: it reads mounted folders and the (mounted) HF cache only.
ENV SCENARIO_STUDIO_MODELS=/models \
    SCENARIO_STUDIO_DATA=/data \
    HF_HOME=/models/hf-cache \
    HF_HUB_OFFLINE=1
VOLUME ["/models", "/data"]
EXPOSE 7860
USER studio
ENTRYPOINT ["scenario-studio"]
# 0.0.0.0 inside the container so the published port reaches it; publish it on 127.0.0.1 (above)
# or add --auth-file before exposing it further.
CMD ["serve", "--host", "0.0.0.0", "--port", "7860", "--models-dir", "/models", "--data-dir", "/data"]
