# syntax=docker/dockerfile:1.7
# The gateway: nginx (official image) with Minka's configuration template and the thin client's static files.
# Build from the repository root:   docker build -f deploy/gateway.Dockerfile -t minka-gateway .
# At start the image's entrypoint renders /etc/nginx/templates/*.template into /etc/nginx/conf.d/ with envsubst,
# substituting only the MINKA_* variables (the defaults below suit compose; Kubernetes sets its own).
ARG NGINX_VERSION=1.28
FROM nginx:${NGINX_VERSION}-alpine

ENV NGINX_ENVSUBST_FILTER=^MINKA_ \
    MINKA_GATEWAY_PORT=8080 \
    MINKA_REGISTRY_SERVERS="server registry:8000;" \
    MINKA_CERTIFICATION_SERVERS="server certification:8000;" \
    MINKA_TRACEABILITY_SERVERS="server traceability:8000;" \
    MINKA_APP_ROOT=/usr/share/minka/static \
    MINKA_TOKEN_RATE=10r/s \
    MINKA_TOKEN_BURST=20 \
    MINKA_MAX_BODY_SIZE=40m

# Run unprivileged (user nginx, uid 101): no `user` directive, the pid file in /tmp, and the directories the
# entrypoint and nginx write to owned by nginx. The stock default server is removed.
RUN rm -f /etc/nginx/conf.d/default.conf \
    && sed -i -e '/^user /d' -e 's,^pid .*,pid /tmp/nginx.pid;,' /etc/nginx/nginx.conf \
    && chown -R nginx:nginx /etc/nginx/conf.d /var/cache/nginx

COPY deploy/nginx/minka.conf.template /etc/nginx/templates/minka.conf.template
COPY services/gateway/src/minka_gateway/static/app /usr/share/minka/static/app

USER 101:101
EXPOSE 8080
