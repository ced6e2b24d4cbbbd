# tribar on Freqtrade: one image with the bundle installed; user_data and config are mounted.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 1000 ftuser
WORKDIR /tribar
COPY pyproject.toml README.md ./
COPY tribar ./tribar
COPY risk ./risk
COPY analysis ./analysis
COPY strategies ./strategies
COPY hyperopts ./hyperopts
COPY user_data/freqaimodels ./user_data/freqaimodels
COPY user_data/markets ./user_data/markets
RUN pip install . && chown -R ftuser /tribar
COPY --chown=ftuser config.json config.api.json ./
COPY --chown=ftuser config ./config
USER ftuser
ENTRYPOINT ["freqtrade"]
CMD ["trade", "-c", "config.json", "-c", "config.api.json"]
