"""Training schemes (one LightningModule each) and the shared trainer factory."""
