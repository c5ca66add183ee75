// The sign-in form both pages share: the key goes to signIn() (kept in sessionStorage only);
// on success the caller gets the signed-in identity, on failure the form says why.

import { ApiError, explain, signIn } from "./api.js";
import { $ } from "./dom.js";

export function bindSignIn(onSignedIn) {
  $("#signin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("#signin-error").hidden = true;
    try {
      const me = await signIn($("#key").value.trim());
      $("#key").value = "";
      onSignedIn(me);
    } catch (exc) {
      $("#signin-error").textContent = exc instanceof ApiError && exc.status === 401 ? "That key is not known." : explain(exc);
      $("#signin-error").hidden = false;
    }
  });
}
