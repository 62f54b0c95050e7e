// The app opens the database once, at launch; pages wait on app.ready.
const db = require('./lib/db.js');

App({
  onLaunch() {
    this.ready = db.open().catch((err) => {
      console.error('minibase did not open', err);
      throw err;
    });
  },
});
