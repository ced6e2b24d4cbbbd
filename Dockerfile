# tribar on the official Freqtrade image of the release pinned in pyproject.toml
# (tests/deploy/test_compose.py keeps the tag and the pin equal). user_data is mounted.
FROM freqtradeorg/freqtrade:2026.9
ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
USER root
RUN mkdir /tribar && chown ftuser:ftuser /tribar
USER ftuser
WORKDIR /tribar
COPY --chown=ftuser:ftuser pyproject.toml README.md ./
COPY --chown=ftuser:ftuser tribar ./tribar
COPY --chown=ftuser:ftuser risk ./risk
COPY --chown=ftuser:ftuser analysis ./analysis
COPY --chown=ftuser:ftuser strategies ./strategies
COPY --chown=ftuser:ftuser hyperopts ./hyperopts
COPY --chown=ftuser:ftuser user_data/freqaimodels ./user_data/freqaimodels
COPY --chown=ftuser:ftuser user_data/markets ./user_data/markets
# The image's Freqtrade is an editable user install from /freqtrade that already satisfies
# tribar's freqtrade requirement, so pip keeps it and adds only the bundle and its other
# dependencies (FreqAI's LightGBM etc.). The import check fails the build if pip replaced it.
RUN pip install --user . \
 && python -c "import sys, freqtrade; f = freqtrade.__file__; sys.exit(None if f.startswith('/freqtrade/') else 'freqtrade was re-installed at ' + f)" \
 && freqtrade --version
COPY --chown=ftuser:ftuser config.json config.api.json ./
COPY --chown=ftuser:ftuser config ./config
ENTRYPOINT ["freqtrade"]
CMD ["trade", "-c", "config.json", "-c", "config.api.json", "--strategy", "TripleBarrierML", "--strategy-path", "strategies", "--freqaimodel-path", "user_data/freqaimodels"]
